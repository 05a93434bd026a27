/* openagc agent console — plain JavaScript, no build step.
 *
 * Data flow: the page signs in with POST /agent/login (the server sets the session cookie), then follows
 * GET /console/api/events (Server-Sent Events: the /agent/events stream plus a fresh state after every
 * command wake-up). Every change — a click here, an api.php call, a plain SQL
 * command — reaches the page as an event; the page never polls. When the stream drops, the page
 * reconnects by itself (backing off up to 5 s) and re-reads GET /agent/state, so it always shows the true
 * state. Actions go to /agent/… (ready, pause, dial, hangup, dispo, logout) or to /console/api/… (transfer,
 * park, recording, DTMF, in-groups, the lead form). What the engine refuses comes back as a `command` event.
 *
 * Nothing the agent typed is replaced by a push: unsaved in-group ticks (app.ingroupsEdited) and edited lead
 * fields (app.leadDirty) stay until the agent applies or saves them; a reply older than a push is not rendered.
 */
(function () {
  "use strict";

  var EVENTS = ["state", "logged_in", "logged_out", "call", "answered", "dialing", "dial_failed",
    "customer_hangup", "call_ended", "dispositioned", "update_fields", "timer_set", "timer_fired",
    "notification", "ingroups_changed", "lead_switched", "command", "command_ignored", "pause_code_required",
    "manual_dial_queue", "preview", "preview_skipped", "alt_dial_finished", "phone", "parked", "grabbed",
    "transfer", "xfer_answered", "xfer_hangup", "left_3way", "recording_started", "recording_stopped", "dtmf"];
  // /agent/events plus a fresh state after every command wake-up (deferred commands show at once)
  var STREAM = "/console/api/events";
  var PANEL_RELOAD = { formreload: "lead", scriptreload: "script", script2reload: "script",
    callbacksreload: "callbacks" };
  var COMMAND_LABEL = { external_pause: "Pause / ready", external_hangup: "Hang up", external_status: "Disposition",
    external_dial: "Dial", external_transferconf: "Transfer", external_park: "Park / grab",
    external_recording: "Recording", external_dtmf: "Keypad", external_ingroups: "In-groups",
    external_update_fields: "Lead update", external_pause_code: "Pause code" };

  var $ = function (id) { return document.getElementById(id); };
  var all = function (sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); };
  // What the login screen says when a session ends under the page (a 401 on any request of a live session).
  var LOGGED_OUT = "You are logged out.";
  var app = {
    state: null, context: null, lead: null, source: null, retry: 0, retryTimer: 0, csrf: "",
    stateSince: 0, talkSince: 0, skewMs: 0, tick: 0, notificationTimer: 0, scriptVersion: 0, callbacksVersion: 0,
    pushes: 0, ingroupsEdited: false, ingroupsShown: null, leadDirty: {}, leadAll: false
  };
  window.openagc = app; // for debugging and the browser tests

  // --- HTTP ------------------------------------------------------------------------------------------------

  // Every POST carries the session's CSRF token (from /agent/login and /agent/state) besides the cookie.
  function request(method, url, body) {
    var init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET" && app.csrf) init.headers["X-CSRF-Token"] = app.csrf;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.ok && data && data.csrf_token) app.csrf = data.csrf_token;
        if (!r.ok) {
          var err = new Error(data.error || ("HTTP " + r.status));
          err.status = r.status;
          throw err;
        }
        return data;
      });
    });
  }

  // A reply's state was read when the server answered; a state pushed on the stream after the request left may be
  // newer than it (or the same). While the stream is live it carries every change, so such a reply's state is
  // dropped rather than allowed to overwrite a newer push.
  function requestState(method, url, body) {
    var pushesBefore = app.pushes;
    return request(method, url, body).then(function (data) {
      data.stale = app.pushes !== pushesBefore;
      return data;
    });
  }

  function renderReply(data) {
    if (data.state !== undefined && !data.stale) render(data.state);
  }

  function act(method, url, body, what) {
    say("");
    return requestState(method, url, body).then(function (data) {
      renderReply(data);
      if (what) say(what);
      return data;
    }).catch(function (err) {
      if (err.status === 401) return showLogin(LOGGED_OUT);
      say(err.message, true);
    });
  }

  function say(text, isError) {
    var m = $("action-message");
    m.textContent = text || "";
    m.classList.toggle("error", !!isError);
  }

  function log(text) {
    var li = document.createElement("li");
    var t = new Date(Date.now() - app.skewMs);
    li.textContent = pad2(t.getHours()) + ":" + pad2(t.getMinutes()) + ":" + pad2(t.getSeconds()) + " " + text;
    var list = $("activity-log");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 50) list.removeChild(list.lastChild);
  }

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  function serverNow() { return new Date(Date.now() - app.skewMs); }

  function parseServerTime(text) {
    var t = Date.parse(String(text || "").replace(" ", "T"));
    return isFinite(t) ? t + app.skewMs : 0;
  }

  // --- views -------------------------------------------------------------------------------------------------

  function showLogin(message) {
    var view = $("login-view");
    // Someone already filling the form in (the page's first state check answered late) keeps their focus, and
    // the answer to a login they sent meanwhile stays shown.
    var typing = !view.hidden && view.contains(document.activeElement);
    closeStream();
    app.state = null;
    $("app-view").hidden = true;
    $("status-line").hidden = true;
    view.hidden = false;
    if ($("dispo-dialog").open) $("dispo-dialog").close();
    if (message || !typing) $("login-error").textContent = message || "";
    if (!typing) $("login-phone").focus();
  }

  function showApp() {
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    $("status-line").hidden = false;
    if (window.matchMedia && window.matchMedia("(max-width: 899px)").matches) {
      $("callbacks-card").open = false; // a phone shows the call first; the side panels open on demand
      $("activity-card").open = false;
    }
  }

  function start() {
    document.body.setAttribute("data-session", "checking"); // "checked" once the first state check has answered
    return request("GET", "/agent/state").then(function (data) {
      showApp();
      render(data.state);
      loadContext().then(loadCallbacks); // the list shows numbers as the campaign's policy says
      connect();
    }).catch(function (err) {
      if (err.status === 401 || err.status === 503) showLogin(err.status === 503 ? err.message : "");
      else showLogin(err.message);
    }).then(function () {
      document.body.setAttribute("data-session", "checked");
    });
  }

  function loadContext() {
    return request("GET", "/console/api/context").then(function (ctx) {
      app.context = ctx;
      app.skewMs = Date.now() - Date.parse(ctx.now.replace(" ", "T"));
      var name = ctx.full_name || ctx.user;
      $("agent-user").textContent = name.indexOf(ctx.user) >= 0 ? name : name + " (" + ctx.user + ")";
      $("agent-campaign").textContent = ctx.campaign.id;
      fillSelect($("pause-code"), [{ value: "", label: "(none)" }].concat(ctx.pause_codes.map(function (c) {
        return { value: c.code, label: c.code + " — " + c.name };
      })));
      fillSelect($("xfer-group"), [{ value: "", label: "(choose)" }].concat(ctx.xfer_groups.map(function (g) {
        return { value: g.id, label: g.id + " — " + g.name };
      })));
      if (ctx.campaign.default_xfer_group && !$("xfer-group").value) $("xfer-group").value = ctx.campaign.default_xfer_group;
      renderIngroupChoices();
      renderStatuses();
      applyLeadPolicy();
      if (app.state) render(app.state);
    }).catch(function (err) { if (err.status === 401) showLogin(LOGGED_OUT); });
  }

  function fillSelect(select, options) {
    var keep = select.value;
    select.textContent = "";
    options.forEach(function (o) {
      var opt = document.createElement("option");
      opt.value = o.value;
      opt.textContent = o.label;
      select.appendChild(opt);
    });
    select.value = keep;
    if (select.selectedIndex < 0) select.selectedIndex = 0;
  }

  // --- state ---------------------------------------------------------------------------------------------------

  function callOf(state) { return state && state.call ? state.call : null; }

  // The agent's state in words, as CCP and Five9 name them: one short badge and one line on the call strip.
  function describe(state) {
    var phase = state.phase, call = callOf(state) || {};
    var code = state.pause_code;
    var groups = state.ingroups && state.ingroups.length;
    switch (phase) {
      case "PAUSED": return { badge: "Paused",
        line: "Paused" + (code ? " — " + code + (pauseName(code) ? " (" + pauseName(code) + ")" : "") : "") };
      case "CLOSER": return { badge: "Ready (inbound)", line: "Waiting for an inbound call" };
      case "READY": return state.blended && groups
        ? { badge: "Ready (inbound and outbound)", line: "Waiting for a call" }
        : { badge: "Ready (outbound)", line: "Waiting for the dialer" };
      case "QUEUE": return { badge: "Ringing", line: "Ringing — a call is arriving" };
      case "DISPO": return { badge: "After-call work", line: "After-call work — choose the call's result" };
      case "INCALL":
        if (call.stage === "dialing") return { badge: "Dialing", line: "Dialing " + (call.number || "") + " — ringing" };
        if (call.stage === "dead") return { badge: "Customer hung up", line: "Customer hung up — hang up to finish" };
        if (call.transfer === "CONFERENCED") return { badge: "3-way", line: "3-way call" };
        if (call.parked) return { badge: "On hold", line: "On hold — customer parked" };
        return { badge: "Connected", line: call.transfer === "DIALING" ? "Connected — dialing the transfer line"
          : "Connected" };
      default: return { badge: phase, line: phase };
    }
  }

  // The pause code select shows the code in effect while paused (a code set by the system, LOGIN, included).
  function showPauseCode(code) {
    var select = $("pause-code");
    if (code && !Array.prototype.some.call(select.options, function (o) { return o.value === code; })) {
      var opt = document.createElement("option");
      opt.value = code;
      opt.textContent = code;
      select.appendChild(opt);
    }
    select.value = code || "";
  }

  function pauseName(code) {
    var found = (app.context ? app.context.pause_codes : []).filter(function (c) { return c.code === code; })[0];
    return found ? found.name : "";
  }

  function render(state) {
    if (!state) { showLogin(LOGGED_OUT); return; }
    var before = app.state;
    app.state = state;
    var phase = state.phase, call = callOf(state);
    var words = describe(state);
    var el = $("agent-phase");
    el.dataset.phase = phase;
    el.textContent = words.badge;
    app.stateSince = parseServerTime(state.last_state_change) || Date.now();
    app.talkSince = call && call.talk_since ? parseServerTime(call.talk_since) : 0;
    renderCallbar(state, call, words);
    tickTimer();
    if (phase === "PAUSED") showPauseCode(state.pause_code);
    else if (before && before.phase === "PAUSED") showPauseCode(""); // the select is the next pause's code again
    renderControls(state, call);
    $("ingroups-current").textContent = state.ingroups.length ? state.ingroups.join(", ") : "none";
    syncIngroupChoices(state.ingroups, state.blended);

    var leadId = state.lead_id || state.preview_lead_id || 0;
    var prevLead = before ? (before.lead_id || before.preview_lead_id || 0) : -1;
    if (leadId !== prevLead) {
      if (leadId) { loadLead(true); loadScript(); } else { showLead(null); showScript(""); }
    }
    if (phase === "DISPO") openDispo(); else closeDispo();
  }

  function renderCallbar(state, call, words) {
    var bar = $("callbar");
    bar.dataset.stage = call ? (call.parked ? "parked" : call.stage) : "";
    $("call-state").textContent = words.line;
    var known = call && call.stage !== "ended"; // after the call only its number is certain
    $("call-direction").textContent = known ? (call.direction === "inbound" ? "Inbound from" : "Outbound to") : "";
    $("call-number").textContent = call ? shownNumber(call.number) : "";
    $("call-group").textContent = known && call.group ? (call.direction === "inbound" ? "· in-group " : "· campaign ")
      + call.group : "";
    $("talk-box").hidden = !app.talkSince;
    $("ind-rec").hidden = !(call && call.recording);
    $("ind-park").hidden = !(call && call.parked);
    var xfer = $("ind-xfer");
    xfer.hidden = !(call && call.transfer);
    xfer.textContent = call && call.transfer ? "Transfer line " + (call.transfer_number || "") + ": " +
      (call.transfer === "DIALING" ? "dialing" : "connected") + (call.xfer_parked ? ", parked" : "") : "";
    $("ind-3way").hidden = !(call && call.transfer === "CONFERENCED");
    var pending = $("ind-pending");
    pending.hidden = !state.pending;
    pending.textContent = state.pending ? state.pending.toLowerCase() + " after this call" : "";
    $("phone-lost").hidden = state.phone !== "lost";
  }

  function renderControls(state, call) {
    var phase = state.phase;
    var live = phase === "INCALL" && call && call.stage === "connected";
    var ctx = app.context ? app.context.campaign : {};
    var recMode = ctx.recording || "ONDEMAND";
    var phoneOk = state.phone !== "lost";
    $("btn-ready").disabled = phase !== "PAUSED" || !phoneOk;
    $("btn-pause").disabled = phase === "PAUSED" || state.pending === "PAUSE";
    $("btn-dial").disabled = phase !== "PAUSED" || !phoneOk;
    $("btn-dial-next").disabled = phase !== "PAUSED" || !phoneOk;
    $("btn-hangup").disabled = phase !== "INCALL";
    setDisabled("[data-park=PARK_CUSTOMER]", !live || call.parked);
    setDisabled("[data-park=GRAB_CUSTOMER]", !(phase === "INCALL" && call && call.parked));
    $("btn-rec-start").disabled = !live || call.recording || recMode === "NEVER";
    $("btn-rec-stop").disabled = !(phase === "INCALL" && call && call.recording) || recMode === "ALLFORCE";
    var xferOpen = !!(call && call.transfer);
    $("btn-xfer-panel").disabled = !live && !xferOpen;
    $("btn-keypad").disabled = !live;
    if ($("btn-xfer-panel").disabled) togglePanel("xfer", false);
    else if (xferOpen) togglePanel("xfer", true); // a transfer in progress keeps its panel in view
    if ($("btn-keypad").disabled) togglePanel("dtmf", false);
    renderTransferButtons();
  }

  function setDisabled(selector, disabled) {
    all(selector).forEach(function (b) { b.disabled = !!disabled; });
  }

  // Transfer buttons: a transfer starts only on a live call with no transfer in progress and what it needs filled
  // in; the line's buttons act only on the transfer in progress.
  function renderTransferButtons() {
    var state = app.state, call = callOf(state);
    var live = !!(state && state.phase === "INCALL" && call && call.stage === "connected");
    var idle = live && !call.transfer;
    var number = $("xfer-number").value.replace(/\D/g, ""), group = $("xfer-group").value;
    var consult = $("xfer-consult").checked;
    setDisabled("[data-xfer=BLIND_TRANSFER]", !(idle && number));
    setDisabled("[data-xfer=LOCAL_CLOSER]", !(idle && group));
    setDisabled("[data-xfer=DIAL_WITH_CUSTOMER]", !(idle && (consult ? group : number)));
    setDisabled("[data-xfer=PARK_CUSTOMER_DIAL]", !(idle && (consult ? group : number)));
    var leg = !!(call && call.transfer);
    setDisabled("[data-xfer=LEAVE_3WAY_CALL]", !(leg && call.transfer === "CONFERENCED"));
    setDisabled("[data-xfer=HANGUP_XFER]", !leg);
    setDisabled("[data-xfer=HANGUP_BOTH]", !leg);
    setDisabled("[data-park=PARK_XFER]", !(leg && call.transfer === "CONFERENCED" && !call.xfer_parked));
    setDisabled("[data-park=GRAB_XFER]", !(call && call.xfer_parked));
  }

  function togglePanel(which, open) {
    var panel = $(which === "xfer" ? "xfer-panel" : "dtmf-panel");
    var button = $(which === "xfer" ? "btn-xfer-panel" : "btn-keypad");
    var want = open === undefined ? panel.hidden : open;
    panel.hidden = !want;
    button.setAttribute("aria-expanded", want ? "true" : "false");
  }

  function clock(ms) {
    var secs = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
    return (h ? h + ":" + pad2(m) : m) + ":" + pad2(s);
  }

  function tickTimer() {
    $("agent-timer").textContent = clock(Date.now() - app.stateSince);
    if (app.talkSince) $("talk-timer").textContent = clock(Date.now() - app.talkSince);
  }

  // --- the lead form -------------------------------------------------------------------------------------------

  // Shown always (the fields an agent works with), then the rest only when they hold something worth reading.
  var PRIMARY = ["first_name", "last_name", "phone_number", "alt_phone", "email", "address1", "city", "state",
    "postal_code", "comments"];
  var SECONDARY = ["title", "middle_initial", "address2", "address3", "province", "country_code", "date_of_birth",
    "gender", "vendor_lead_code", "source_id", "security_phrase", "owner", "phone_code", "rank", "gmt_offset_now"];
  var FIELD_LABEL = { phone_code: "Dial code", phone_number: "Phone", alt_phone: "Alt. phone", title: "Title",
    first_name: "First name", middle_initial: "Middle initial", last_name: "Last name", address1: "Address",
    address2: "Address 2", address3: "Address 3", city: "City", state: "State", province: "Province",
    postal_code: "Postal code", country_code: "Country", gender: "Gender", date_of_birth: "Date of birth",
    email: "Email", security_phrase: "Security phrase", vendor_lead_code: "Vendor lead code",
    source_id: "Source id", gmt_offset_now: "GMT offset", rank: "Rank", owner: "Owner", comments: "Comments" };
  // Values that say nothing (upstream's defaults): a field holding one stays out of view with the empty ones.
  var NOISE = { gender: ["U", ""], rank: ["0", ""], gmt_offset_now: null, phone_code: ["1", ""] };

  // The campaign's lead-edit policy (upstream's disable_alter_custdata / disable_alter_custphone, carried by the
  // context): Y locks every field, custphone Y or HIDE the phone number; HIDE also keeps the number out of view (the
  // lead form, the call strip, the activity log, callbacks), shown as upstream shows it. Until the context is read
  // the number is not shown; the server refuses a locked field whatever the page does.
  function leadPolicy() {
    var c = app.context ? app.context.campaign : null;
    return { known: !!c, locked: !!c && c.disable_alter_custdata === "Y",
      phone: c ? c.disable_alter_custphone : "HIDE" };
  }

  function shownNumber(number) {
    var policy = leadPolicy();
    if (!number) return "";
    return !policy.known ? "" : policy.phone === "HIDE" ? "XXXXXXXXXX" : number;
  }

  function fieldLocked(name, policy) {
    return policy.locked || (name === "phone_number" && policy.phone !== "N");
  }

  function applyLeadPolicy() {
    var policy = leadPolicy();
    PRIMARY.concat(SECONDARY).forEach(function (name) {
      var input = $("lead-" + name);
      if (!input) return;
      var locked = fieldLocked(name, policy);
      if (input.tagName === "SELECT") input.disabled = locked; else input.readOnly = locked;
      input.title = locked ? "This campaign does not let agents change this field" : "";
      if (locked && app.leadDirty[name]) { delete app.leadDirty[name]; input.classList.remove("dirty"); }
    });
    var phone = $("lead-field-phone_number");
    if (phone) phone.hidden = policy.phone === "HIDE";
    $("lead-locked").hidden = !(app.lead && policy.locked);
    $("btn-lead-save").hidden = !app.lead || policy.locked;
    updateSave();
  }

  function loadLead(fresh) {
    return request("GET", "/console/api/lead").then(function (d) { showLead(d.lead, fresh); })
      .catch(function () {});
  }

  function text(v) { return v == null ? "" : String(v); }

  function noise(name, value) {
    if (!(name in NOISE)) return value === "";
    return NOISE[name] === null || NOISE[name].indexOf(value) >= 0;
  }

  // `fresh`: another lead (or none) came on screen — the form starts over. Otherwise the values are merged: a field
  // the agent has edited and not saved keeps the agent's text, and shows what the lead holds now.
  function showLead(lead, fresh) {
    var sameLead = lead && app.lead && app.lead.lead_id === lead.lead_id;
    if (!sameLead) app.leadDirty = {};
    app.lead = lead;
    var box = $("lead-fields");
    $("lead-empty").hidden = !!lead;
    box.hidden = !lead;
    $("btn-lead-all").hidden = !lead;
    $("btn-lead-save").hidden = !lead;
    $("lead-id").textContent = lead ? "#" + lead.lead_id : "";
    $("dispo-lead").textContent = lead ? "— " + [lead.first_name, lead.last_name].join(" ").trim() : "";
    $("lead-error").textContent = "";
    if (!lead) { box.textContent = ""; applyLeadPolicy(); return; }
    if (!sameLead || !box.children.length) buildLeadForm();
    PRIMARY.concat(SECONDARY).forEach(function (name) { setField(name, text(lead[name]), false); });
    showSecondary();
    applyLeadPolicy();
  }

  function buildLeadForm() {
    var box = $("lead-fields");
    box.textContent = "";
    PRIMARY.concat(SECONDARY).forEach(function (name) {
      var wrap = document.createElement("div");
      wrap.className = "field" + (name === "comments" ? " wide" : "");
      wrap.id = "lead-field-" + name;
      var label = document.createElement("label");
      label.htmlFor = "lead-" + name;
      label.textContent = FIELD_LABEL[name];
      var input;
      if (name === "comments") {
        input = document.createElement("textarea");
        input.rows = 2;
      } else if (name === "gender") {
        input = document.createElement("select");
        [["U", "Unknown"], ["F", "Female"], ["M", "Male"]].forEach(function (o) {
          var opt = document.createElement("option");
          opt.value = o[0];
          opt.textContent = o[1];
          input.appendChild(opt);
        });
      } else {
        input = document.createElement("input");
        input.type = name === "email" ? "email" : name === "date_of_birth" ? "date" : "text";
        if (/phone/.test(name)) input.inputMode = "tel";
      }
      input.id = "lead-" + name;
      input.name = name;
      input.autocomplete = "off";
      input.addEventListener("input", function () { markDirty(name); });
      input.addEventListener("change", function () { markDirty(name); });
      var note = document.createElement("span");
      note.className = "theirs";
      note.id = "lead-theirs-" + name;
      note.hidden = true;
      wrap.appendChild(label);
      wrap.appendChild(input);
      wrap.appendChild(note);
      box.appendChild(wrap);
    });
  }

  function markDirty(name) {
    var input = $("lead-" + name);
    var dirty = input.value !== text(app.lead ? app.lead[name] : "");
    if (dirty) app.leadDirty[name] = true; else delete app.leadDirty[name];
    input.classList.toggle("dirty", dirty);
    if (!dirty) $("lead-theirs-" + name).hidden = true;
    updateSave();
  }

  function setField(name, value, flash) {
    var input = $("lead-" + name);
    if (!input) return;
    var note = $("lead-theirs-" + name);
    if (app.leadDirty[name]) {
      note.hidden = input.value === value;
      note.textContent = "Saved value: " + (value || "(empty)");
      return;
    }
    if (name === "date_of_birth" && value === "0000-00-00") value = "";
    if (input.value !== value) {
      input.value = value;
      if (flash) {
        input.classList.remove("changed");
        void input.offsetWidth; // restart the highlight
        input.classList.add("changed");
      }
    }
    note.hidden = true;
  }

  function showSecondary() {
    SECONDARY.forEach(function (name) {
      var input = $("lead-" + name);
      if (!input) return;
      $("lead-field-" + name).hidden = !(app.leadAll || app.leadDirty[name] || !noise(name, input.value));
    });
    $("btn-lead-all").setAttribute("aria-expanded", app.leadAll ? "true" : "false");
    $("btn-lead-all").textContent = app.leadAll ? "Fewer fields" : "All fields";
  }

  function updateSave() {
    $("btn-lead-save").disabled = !app.lead || !Object.keys(app.leadDirty).length;
  }

  function updateLeadFields(values) {
    if (!app.lead) return loadLead(false);
    Object.keys(values).forEach(function (name) {
      app.lead[name] = values[name];
      setField(name, text(values[name]), true);
    });
    showSecondary();
    $("dispo-lead").textContent = "— " + [app.lead.first_name, app.lead.last_name].join(" ").trim();
  }

  function saveLead(ev) {
    ev.preventDefault();
    var fields = {};
    Object.keys(app.leadDirty).forEach(function (name) { fields[name] = $("lead-" + name).value; });
    if (!Object.keys(fields).length) return;
    $("lead-error").textContent = "";
    $("btn-lead-save").disabled = true;
    request("POST", "/console/api/lead", { fields: fields }).then(function (data) {
      Object.keys(fields).forEach(function (name) {
        if ($("lead-" + name).value === fields[name]) {
          delete app.leadDirty[name];
          $("lead-" + name).classList.remove("dirty");
        }
      });
      showLead(data.lead, false);
      say("Lead saved");
    }).catch(function (err) {
      if (err.status === 401) return showLogin(LOGGED_OUT);
      $("lead-error").textContent = err.message;
      updateSave();
    });
  }

  // --- script, callbacks -------------------------------------------------------------------------------------

  function loadScript() {
    return request("GET", "/console/api/script").then(function (d) { showScript(d.text); })
      .catch(function () {});
  }

  function showScript(value) {
    var p = $("script-text");
    app.scriptVersion++;
    p.dataset.version = String(app.scriptVersion);
    p.textContent = value || "No script.";
    p.classList.toggle("muted", !value);
  }

  function loadCallbacks() {
    return request("GET", "/console/api/callbacks").then(function (d) {
      var list = $("callbacks-list");
      list.textContent = "";
      d.callbacks.forEach(function (cb) {
        var li = document.createElement("li");
        li.textContent = cb.callback_time + " — " + [cb.first_name, cb.last_name].join(" ").trim() + " " +
          shownNumber(cb.phone_number) + (cb.comments ? " · " + cb.comments : "") +
          (cb.recipient === "USERONLY" ? " (me only)" : " (anyone)");
        list.appendChild(li);
      });
      if (!d.callbacks.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = "No callbacks scheduled.";
        list.appendChild(none);
      }
      app.callbacksVersion++;
      list.dataset.version = String(app.callbacksVersion);
      $("callbacks-count").textContent = "(" + d.callbacks.length + ")";
    }).catch(function () {});
  }

  // --- in-groups -------------------------------------------------------------------------------------------

  function renderIngroupChoices() {
    var box = $("ingroup-choices");
    Array.prototype.slice.call(box.querySelectorAll("label")).forEach(function (l) { box.removeChild(l); });
    var groups = app.context ? app.context.ingroups : [];
    groups.forEach(function (g) {
      var label = document.createElement("label");
      label.className = "check";
      var input = document.createElement("input");
      input.type = "checkbox";
      input.value = g.id;
      input.id = "ingroup-" + g.id;
      label.htmlFor = input.id;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + g.id + " — " + g.name));
      box.appendChild(label);
    });
    $("btn-ingroups").disabled = !groups.length || !(app.context && app.context.campaign.inbound);
    app.ingroupsShown = null;
    if (app.state) syncIngroupChoices(app.state.ingroups, app.state.blended);
  }

  // The ticks show the agent's current in-groups until the agent edits them; from then on pushes leave them alone
  // until the edit is applied (the "now:" line always shows what is in effect).
  function syncIngroupChoices(active, blended) {
    var shown = active.join(" ") + (blended ? " +blended" : "");
    if (app.ingroupsEdited || shown === app.ingroupsShown) return;
    app.ingroupsShown = shown;
    Array.prototype.forEach.call($("ingroup-choices").querySelectorAll("input"), function (i) {
      i.checked = active.indexOf(i.value) >= 0;
    });
    $("ingroups-blended").checked = !!blended;
  }

  // --- disposition -----------------------------------------------------------------------------------------

  // The key that picks the n-th status: 1–9, then 0 (VICIdial's agent screen has the same number hotkeys).
  function hotkey(i) { return i < 9 ? String(i + 1) : i === 9 ? "0" : ""; }

  function renderStatuses() {
    var box = $("dispo-statuses");
    Array.prototype.slice.call(box.querySelectorAll("label")).forEach(function (l) { box.removeChild(l); });
    (app.context ? app.context.statuses : []).forEach(function (s, i) {
      var label = document.createElement("label");
      label.className = "check";
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "status";
      input.value = s.status;
      input.id = "status-" + s.status;
      input.dataset.callback = s.callback ? "1" : "0";
      input.dataset.key = hotkey(i);
      label.htmlFor = input.id;
      label.appendChild(input);
      var span = document.createElement("span");
      if (input.dataset.key) {
        var kbd = document.createElement("kbd");
        kbd.textContent = input.dataset.key;
        span.appendChild(kbd);
        span.appendChild(document.createTextNode(" "));
      }
      span.appendChild(document.createTextNode(s.status + " — " + s.name));
      label.appendChild(span);
      box.appendChild(label);
    });
  }

  function localInput(date) {
    return date.getFullYear() + "-" + pad2(date.getMonth() + 1) + "-" + pad2(date.getDate()) + "T" +
      pad2(date.getHours()) + ":" + pad2(date.getMinutes());
  }

  function openDispo() {
    var d = $("dispo-dialog");
    if (d.open) return;
    $("dispo-error").textContent = "";
    Array.prototype.forEach.call(d.querySelectorAll("input[name=status]"), function (i) { i.checked = false; });
    $("dispo-callback").hidden = true;
    $("cb-when").min = localInput(serverNow());
    $("dispo-pause").checked = !!(app.state && app.state.pending === "PAUSE");
    d.showModal();
  }

  function closeDispo() {
    var d = $("dispo-dialog");
    if (d.open) d.close();
  }

  function chooseStatus(input) {
    input.checked = true;
    input.focus();
    $("dispo-callback").hidden = input.dataset.callback !== "1";
  }

  function submitDispo(ev) {
    ev.preventDefault();
    var chosen = document.querySelector("#dispo-statuses input:checked");
    if (!chosen) { $("dispo-error").textContent = "Choose a call result."; return; }
    var body = { status: chosen.value };
    if (chosen.dataset.callback === "1") {
      var when = $("cb-when").value;
      if (!when) { $("dispo-error").textContent = "Choose the callback time."; return; }
      if (when < localInput(serverNow())) { $("dispo-error").textContent = "The callback time is in the past."; return; }
      body.callback_datetime = when.replace("T", " ") + (when.length === 16 ? ":00" : "");
      body.callback_type = $("cb-type").value;
      body.comments = $("cb-comments").value;
    }
    var pauseFirst = $("dispo-pause").checked && !(app.state && app.state.pending === "PAUSE")
      ? request("POST", "/agent/pause", {}).catch(function () {}) : Promise.resolve();
    pauseFirst.then(function () {
      return requestState("POST", "/agent/dispo", body);
    }).then(renderReply).catch(function (err) {  // the `dispositioned` event logs it, once
      if (err.status === 401) return showLogin(LOGGED_OUT);
      $("dispo-error").textContent = err.message;
    });
  }

  // --- notifications and timer messages ----------------------------------------------------------------------

  function showNotification(ev) {
    var box = $("notification");
    var p = $("notification-text");
    if (ev.text) {
      p.textContent = ev.text;
      p.style.fontSize = (parseInt(ev.size, 10) || 12) + "px";
      p.style.fontFamily = ev.font || "Arial";
      p.style.fontWeight = ev.weight || "bold";
      p.style.color = ev.color || "black";
      box.hidden = false;
      clearTimeout(app.notificationTimer);
      app.notificationTimer = setTimeout(function () { box.hidden = true; }, 15000);
      log("Notification: " + ev.text);
    }
    if (ev.confetti && window.openagcConfetti) {
      window.openagcConfetti($("confetti"), window.openagcConfetti.parseOptions(ev.confetti_options));
    }
  }

  function showTimerMessage(value) {
    var box = $("timer-message");
    box.textContent = value;
    box.hidden = !value;
    if (value) $("activity-card").open = true;
  }

  // --- the event stream ------------------------------------------------------------------------------------

  function setConn(kind, label) {
    var c = $("conn-status");
    c.dataset.conn = kind;
    c.textContent = label || kind;
  }

  function closeStream() {
    clearTimeout(app.retryTimer);
    if (app.source) { app.source.close(); app.source = null; }
    setConn("offline");
  }

  function connect() {
    closeStream();
    var es = new EventSource(STREAM);
    app.source = es;
    setConn("reconnecting", "connecting");
    es.onopen = function () {
      app.retry = 0;
      setConn("live");
      // whatever happened while the stream was down: read the true state
      requestState("GET", "/agent/state").then(renderReply)
        .catch(function (err) { if (err.status === 401) showLogin(LOGGED_OUT); });
    };
    es.onerror = function () {
      if (app.source !== es) return;
      es.close();
      app.source = null;
      scheduleReconnect();
    };
    EVENTS.forEach(function (name) {
      es.addEventListener(name, function (msg) {
        var data;
        try { data = JSON.parse(msg.data); } catch (e) { return; }
        handle(name, data);
      });
    });
  }

  function scheduleReconnect() {
    var delay = Math.min(5000, 250 * Math.pow(2, app.retry++));
    setConn("reconnecting");
    clearTimeout(app.retryTimer);
    app.retryTimer = setTimeout(function () {
      request("GET", "/agent/state").then(function () { connect(); }).catch(function (err) {
        if (err.status === 401) showLogin(LOGGED_OUT);
        else scheduleReconnect();
      });
    }, delay);
  }

  // A command's outcome: a refusal is said where the agent looks (the message line) and kept in the activity.
  function onCommand(ev) {
    if (ev.state === "applied" || ev.state === "queued" || ev.state === "delivered") return;
    var what = COMMAND_LABEL[ev.command] || ev.command;
    var value = String(ev.value || "").split(/[!-]{1,3}/)[0];
    var textOut = what + " (" + value + ") was " + (ev.state === "superseded" ? "replaced by a newer command"
      : "not carried out" + (ev.reason ? ": " + ev.reason : ""));
    say(textOut, true);
    log(textOut);
  }

  function handle(name, ev) {
    switch (name) {
      case "state": app.pushes++; render(ev.state); break;
      case "logged_out": log("Logged out"); showLogin(LOGGED_OUT); break;
      case "call": log((ev.direction === "inbound" ? "Inbound call" : "Call") + " — lead " + ev.lead_id +
        (ev.group ? " from " + ev.group : "")); break;
      case "answered": log("Answered — lead " + ev.lead_id); break;
      case "dialing": log("Dialing " + shownNumber(ev.phone_number)); break;
      case "dial_failed": log("Dial failed: " + ev.reason); say("Dial failed: " + ev.reason, true); break;
      case "customer_hangup": log("Customer hung up"); break;
      case "call_ended": log("Call ended (" + ev.term_reason + ")"); showTimerMessage(""); break;
      case "dispositioned":
        log("Dispositioned " + ev.status + (ev.callback ? " (callback)" : ""));
        loadCallbacks(); // a scheduled callback shows at once; a called-back lead leaves the list
        break;
      case "update_fields": onUpdateFields(ev); break;
      case "timer_set": log("Timer set: " + ev.action + " at " + ev.seconds + " s"); break;
      case "timer_fired":
        log("Timer: " + ev.action + (ev.message ? " — " + ev.message : ""));
        showTimerMessage(ev.message || ev.action);
        break;
      case "notification": showNotification(ev); break;
      case "phone":
        log(ev.phone === "lost" ? "Phone disconnected" : "Phone " + ev.phone);
        if (ev.phone === "lost") say("Your phone is not connected. No calls are sent to you.", true);
        break;
      case "ingroups_changed": log("In-groups: " + (ev.ingroups.join(", ") || "none") +
        (ev.blended ? " (blended)" : "")); break;
      case "lead_switched": log("Lead switched to " + ev.lead_id); loadLead(true); loadScript(); break;
      case "pause_code_required": log("Choose a pause code"); say("Choose a pause code.", true);
        $("pause-code").focus(); break;
      case "manual_dial_queue": log("Queued dial " + shownNumber(ev.phone_number)); break;
      case "preview": log("Preview lead " + ev.lead_id + " " + shownNumber(ev.phone_number)); break;
      case "command": onCommand(ev); break;
      case "command_ignored": break; // its record's `command` event says it (once)
      case "parked": log(ev.leg === "xfer" ? "Transfer line parked" : "Customer parked"); break;
      case "grabbed": log(ev.leg === "xfer" ? "Transfer line grabbed" : "Customer grabbed"); break;
      case "transfer": log("Transfer: " + (ev["function"] || "") + (ev.phase ? " (" + ev.phase.toLowerCase() + ")" : ""));
        break;
      case "xfer_answered": log("Transfer line answered"); break;
      case "xfer_hangup": log("Transfer line hung up"); break;
      case "left_3way": log("Left the 3-way call"); break;
      case "recording_started": log("Recording started"); break;
      case "recording_stopped": log("Recording stopped"); break;
      case "dtmf": break; // the button's own message says it
      default: log(name);
    }
  }

  function onUpdateFields(ev) {
    var values = ev.lead || {};
    if (Object.keys(values).length) { updateLeadFields(values); loadScript(); }
    var reload = {};
    (ev.fields || []).forEach(function (f) { if (PANEL_RELOAD[f]) reload[PANEL_RELOAD[f]] = true; });
    if (reload.lead) loadLead(false);
    if (reload.script && !Object.keys(values).length) loadScript();
    if (reload.callbacks) loadCallbacks();
    log("Updated: " + (ev.fields || []).join(", "));
  }

  // --- wiring -----------------------------------------------------------------------------------------------

  function wire() {
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { user: $("login-user").value.trim(), pass: $("login-pass").value,
        phone_login: $("login-phone").value.trim(), phone_pass: $("login-phone-pass").value,
        campaign: $("login-campaign").value.trim() };
      var groups = $("login-ingroups").value.trim();
      if (groups) body.ingroups = groups;
      if ($("login-blended").checked) body.blended = true;
      $("btn-login").disabled = true;
      request("POST", "/agent/login", body).then(function (data) {
        $("login-pass").value = "";
        $("login-phone-pass").value = "";
        $("login-error").textContent = "";
        $("activity-log").textContent = "";
        app.state = null;
        app.lead = null;
        app.ingroupsEdited = false;
        showApp();
        render(data.state);
        loadContext().then(function () {  // the server's clock is known: the entry carries its time
          log("Logged in to " + body.campaign + " (session " + data.conf_exten + ")");
          loadCallbacks(); // the list shows numbers as the campaign's policy says
        });
        connect();
        $("btn-ready").focus();
      }).catch(function (err) {
        $("login-error").textContent = err.message;
      }).then(function () { $("btn-login").disabled = false; });
    });
    $("btn-logout").addEventListener("click", function () {
      requestState("POST", "/agent/logout", {}).then(function (d) {
        if (d.logged_out) showLogin(LOGGED_OUT);
        else { renderReply(d); say("Logout after this call."); }
      }).catch(function (err) { if (err.status === 401) showLogin(LOGGED_OUT); else say(err.message, true); });
    });
    $("btn-ready").addEventListener("click", function () { act("POST", "/agent/ready", {}); });
    $("btn-pause").addEventListener("click", function () {
      var code = $("pause-code").value;
      act("POST", "/agent/pause", code ? { pause_code: code } : {});
    });
    $("pause-code").addEventListener("change", function () {
      if (app.state && app.state.phase === "PAUSED" && this.value) {
        act("POST", "/agent/pause", { pause_code: this.value });
      }
    });
    $("dial-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var number = $("dial-number").value.replace(/\D/g, "");
      if (!number) { say("Enter a number to dial.", true); return; }
      act("POST", "/agent/dial", { phone_number: number }, "Dialing " + number);
    });
    $("btn-dial-next").addEventListener("click", function () { act("POST", "/agent/dial", { next: true }); });
    $("btn-hangup").addEventListener("click", function () { act("POST", "/agent/hangup", {}); });
    $("btn-xfer-panel").addEventListener("click", function () {
      var call = callOf(app.state);
      togglePanel("xfer", call && call.transfer ? true : undefined); // a transfer in progress keeps it open
      if (!$("xfer-panel").hidden) $("xfer-number").focus();
    });
    $("btn-keypad").addEventListener("click", function () { togglePanel("dtmf"); });
    ["xfer-number", "xfer-group", "xfer-consult"].forEach(function (id) {
      $(id).addEventListener("input", renderTransferButtons);
      $(id).addEventListener("change", renderTransferButtons);
    });
    all("[data-xfer]").forEach(function (b) {
      b.addEventListener("click", function () {
        act("POST", "/console/api/transfer", { "function": b.dataset.xfer, phone_number: $("xfer-number").value,
          ingroup: $("xfer-group").value, consultative: $("xfer-consult").checked ? "YES" : "NO" },
          b.textContent + ": sent");
      });
    });
    all("[data-park]").forEach(function (b) {
      b.addEventListener("click", function () {
        act("POST", "/console/api/park", { action: b.dataset.park }, b.textContent + ": sent");
      });
    });
    all("[data-record]").forEach(function (b) {
      b.addEventListener("click", function () {
        act("POST", "/console/api/record", { action: b.dataset.record }, b.textContent + ": sent");
      });
    });
    all("[data-dtmf]").forEach(function (b) {
      b.addEventListener("click", function () {
        act("POST", "/console/api/dtmf", { digits: b.dataset.dtmf }, "DTMF " + b.dataset.dtmf + " sent");
      });
    });
    $("btn-ingroups").addEventListener("click", function () {
      var chosen = Array.prototype.map.call($("ingroup-choices").querySelectorAll("input:checked"),
        function (i) { return i.value; });
      app.ingroupsEdited = false;
      app.ingroupsShown = null;
      act("POST", "/console/api/ingroups", { ingroups: chosen, blended: $("ingroups-blended").checked },
        "In-groups sent");
    });
    [$("ingroup-choices"), $("ingroups-blended")].forEach(function (el) {
      el.addEventListener("change", function () { app.ingroupsEdited = true; });
    });
    $("lead-form").addEventListener("submit", saveLead);
    $("btn-lead-all").addEventListener("click", function () { app.leadAll = !app.leadAll; showSecondary(); });
    $("btn-call-phone").addEventListener("click", function () {
      act("POST", "/console/api/phone", {}, "Calling your phone…");
    });
    $("dispo-form").addEventListener("submit", submitDispo);
    $("dispo-dialog").addEventListener("cancel", function (ev) { ev.preventDefault(); }); // a call needs a result
    $("dispo-statuses").addEventListener("change", function (ev) {
      $("dispo-callback").hidden = !(ev.target && ev.target.dataset.callback === "1");
    });
    $("dispo-dialog").addEventListener("keydown", function (ev) {
      var t = ev.target;
      if (ev.key === "Enter" && t && t.type === "radio") { ev.preventDefault(); $("dispo-form").requestSubmit(); return; }
      if (ev.altKey || ev.ctrlKey || ev.metaKey || !/^[0-9]$/.test(ev.key)) return;
      if (t && (t.tagName === "TEXTAREA" || t.tagName === "SELECT" || (t.tagName === "INPUT" && t.type !== "radio" &&
          t.type !== "checkbox"))) return; // typing a time or a comment
      var input = document.querySelector('#dispo-statuses input[data-key="' + ev.key + '"]');
      if (input) { ev.preventDefault(); chooseStatus(input); }
    });
    $("btn-notification-close").addEventListener("click", function () {
      $("notification").hidden = true;
      if (window.openagcConfetti) window.openagcConfetti.stop();
    });
    app.tick = setInterval(tickTimer, 1000);
  }

  wire();
  start();
})();
