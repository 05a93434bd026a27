/* openagc agent console — plain JavaScript, no build step.
 *
 * Data flow: the page signs in with POST /agent/login (the server sets the session cookie), then follows
 * GET /console/api/events (Server-Sent Events: the /agent/events stream plus a fresh state after every
 * command wake-up). Every change — a click here, an api.php call, a plain SQL
 * command — reaches the page as an event; the page never polls. When the stream drops, the page
 * reconnects by itself (backing off up to 5 s) and re-reads GET /agent/state, so it always shows the true
 * state. Actions go to /agent/… (ready, pause, dial, hangup, dispo, logout) or to /console/api/… for the
 * call controls the agent API has no endpoint for yet (transfer, park, recording, DTMF, in-groups).
 */
(function () {
  "use strict";

  var EVENTS = ["state", "logged_in", "logged_out", "call", "answered", "dialing", "dial_failed",
    "customer_hangup", "call_ended", "dispositioned", "update_fields", "timer_set", "timer_fired",
    "notification", "ingroups_changed", "lead_switched", "command_ignored", "pause_code_required",
    "manual_dial_queue", "preview", "preview_skipped", "alt_dial_finished"];
  var PHASE_LABEL = { PAUSED: "Paused", READY: "Ready", CLOSER: "Ready (inbound)", QUEUE: "Call arriving",
    INCALL: "In call", DISPO: "Disposition" };
  // /agent/events plus a fresh state after every command wake-up (deferred commands show at once)
  var STREAM = "/console/api/events";
  var PANEL_RELOAD = { formreload: "lead", scriptreload: "script", script2reload: "script",
    callbacksreload: "callbacks" };

  var $ = function (id) { return document.getElementById(id); };
  // What the login screen says when a session ends under the page (a 401 on any request of a live session).
  var LOGGED_OUT = "You are logged out.";
  var app = {
    state: null, context: null, lead: null, source: null, retry: 0, retryTimer: 0, csrf: "",
    stateSince: 0, skewMs: 0, tick: 0, notificationTimer: 0, scriptVersion: 0, callbacksVersion: 0,
    pushes: 0, ingroupsEdited: false, ingroupsShown: null
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
    var t = new Date();
    li.textContent = pad2(t.getHours()) + ":" + pad2(t.getMinutes()) + ":" + pad2(t.getSeconds()) + " " + text;
    var list = $("activity-log");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 50) list.removeChild(list.lastChild);
  }

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  // --- views -------------------------------------------------------------------------------------------------

  function showLogin(message) {
    closeStream();
    app.state = null;
    $("app-view").hidden = true;
    $("status-line").hidden = true;
    $("login-view").hidden = false;
    if ($("dispo-dialog").open) $("dispo-dialog").close();
    $("login-error").textContent = message || "";
    $("login-phone").focus();
  }

  function showApp() {
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    $("status-line").hidden = false;
  }

  function start() {
    return request("GET", "/agent/state").then(function (data) {
      showApp();
      render(data.state);
      loadContext();
      connect();
    }).catch(function (err) {
      if (err.status === 401 || err.status === 503) showLogin(err.status === 503 ? err.message : "");
      else showLogin(err.message);
    });
  }

  function loadContext() {
    return request("GET", "/console/api/context").then(function (ctx) {
      app.context = ctx;
      app.skewMs = Date.now() - Date.parse(ctx.now.replace(" ", "T"));
      $("agent-user").textContent = ctx.user + (ctx.full_name ? " (" + ctx.full_name + ")" : "");
      $("agent-campaign").textContent = ctx.campaign.id;
      fillSelect($("pause-code"), [{ value: "", label: "(none)" }].concat(ctx.pause_codes.map(function (c) {
        return { value: c.code, label: c.code + " — " + c.name };
      })));
      fillSelect($("xfer-group"), [{ value: "", label: "(choose)" }].concat(ctx.xfer_groups.map(function (g) {
        return { value: g.id, label: g.id + " — " + g.name };
      })));
      if (ctx.campaign.default_xfer_group) $("xfer-group").value = ctx.campaign.default_xfer_group;
      renderIngroupChoices();
      renderStatuses();
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

  function render(state) {
    if (!state) { showLogin(LOGGED_OUT); return; }
    var before = app.state;
    app.state = state;
    var phase = state.phase;
    var el = $("agent-phase");
    el.dataset.phase = phase;
    el.textContent = PHASE_LABEL[phase] || phase;
    $("agent-detail").textContent = state.dead ? "customer hung up"
      : (state.pause_code && phase === "PAUSED" ? "code " + state.pause_code : "");
    var since = Date.parse(String(state.last_state_change).replace(" ", "T"));
    app.stateSince = isFinite(since) ? since + app.skewMs : Date.now();
    tickTimer();
    var pending = $("agent-pending");
    pending.hidden = !state.pending;
    pending.textContent = state.pending ? state.pending.toLowerCase() + " after this call" : "";
    $("phone-lost").hidden = state.phone !== "lost";

    var onCall = phase === "INCALL" || phase === "QUEUE";
    $("btn-ready").disabled = phase !== "PAUSED";
    $("btn-pause").disabled = false;
    $("btn-dial").disabled = phase !== "PAUSED";
    $("btn-dial-next").disabled = phase !== "PAUSED";
    $("btn-hangup").disabled = phase !== "INCALL";
    Array.prototype.forEach.call(document.querySelectorAll("[data-xfer],[data-park],[data-record]"), function (b) {
      b.disabled = !onCall;
    });
    $("ingroups-current").textContent = state.ingroups.length ? state.ingroups.join(", ") : "none";
    syncIngroupChoices(state.ingroups, state.blended);

    var leadId = state.lead_id || state.preview_lead_id || 0;
    var prevLead = before ? (before.lead_id || before.preview_lead_id || 0) : -1;
    if (leadId !== prevLead) {
      if (leadId) { loadLead(); loadScript(); } else { showLead(null); showScript(""); }
    }
    if (phase === "DISPO") openDispo(); else closeDispo();
  }

  function tickTimer() {
    var secs = Math.max(0, Math.floor((Date.now() - app.stateSince) / 1000));
    var h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
    $("agent-timer").textContent = (h ? h + ":" + pad2(m) : m) + ":" + pad2(s);
  }

  // --- lead, script, callbacks -------------------------------------------------------------------------

  var FIELD_LABEL = { phone_code: "Dial code", phone_number: "Phone", alt_phone: "Alt. phone", title: "Title",
    first_name: "First name", middle_initial: "Middle", last_name: "Last name", address1: "Address 1",
    address2: "Address 2", address3: "Address 3", city: "City", state: "State", province: "Province",
    postal_code: "Postal code", country_code: "Country", gender: "Gender", date_of_birth: "Date of birth",
    email: "Email", security_phrase: "Security phrase", vendor_lead_code: "Vendor lead code",
    source_id: "Source id", gmt_offset_now: "GMT offset", rank: "Rank", owner: "Owner", comments: "Comments" };

  function loadLead() {
    return request("GET", "/console/api/lead").then(function (d) { showLead(d.lead); })
      .catch(function () {});
  }

  function showLead(lead) {
    app.lead = lead;
    var dl = $("lead-fields");
    $("lead-empty").hidden = !!lead;
    dl.hidden = !lead;
    $("lead-id").textContent = lead ? "#" + lead.lead_id : "";
    $("dispo-lead").textContent = lead ? "— " + [lead.first_name, lead.last_name].join(" ").trim() : "";
    dl.textContent = "";
    if (!lead) return;
    Object.keys(FIELD_LABEL).forEach(function (name) {
      var dt = document.createElement("dt");
      dt.textContent = FIELD_LABEL[name];
      dt.id = "lead-label-" + name;
      var dd = document.createElement("dd");
      dd.id = "lead-" + name;
      dd.setAttribute("aria-labelledby", dt.id);
      dd.textContent = lead[name] == null ? "" : String(lead[name]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
  }

  function updateLeadFields(values) {
    if (!app.lead) return loadLead();
    Object.keys(values).forEach(function (name) {
      app.lead[name] = values[name];
      var dd = $("lead-" + name);
      if (!dd) return;
      dd.textContent = values[name] == null ? "" : String(values[name]);
      dd.classList.remove("changed");
      void dd.offsetWidth; // restart the highlight
      dd.classList.add("changed");
    });
    if (values.first_name !== undefined || values.last_name !== undefined) showLead(app.lead);
  }

  function loadScript() {
    return request("GET", "/console/api/script").then(function (d) { showScript(d.text); })
      .catch(function () {});
  }

  function showScript(text) {
    var p = $("script-text");
    app.scriptVersion++;
    p.dataset.version = String(app.scriptVersion);
    p.textContent = text || "No script.";
    p.classList.toggle("muted", !text);
  }

  function loadCallbacks() {
    return request("GET", "/console/api/callbacks").then(function (d) {
      var list = $("callbacks-list");
      list.textContent = "";
      d.callbacks.forEach(function (cb) {
        var li = document.createElement("li");
        li.textContent = cb.callback_time + " — " + [cb.first_name, cb.last_name].join(" ").trim() + " " +
          (cb.phone_number || "") + (cb.comments ? " · " + cb.comments : "") + " (" + cb.recipient + ")";
        list.appendChild(li);
      });
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
  // until the edit is applied (the "Now:" line always shows what is in effect).
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

  function renderStatuses() {
    var box = $("dispo-statuses");
    Array.prototype.slice.call(box.querySelectorAll("label")).forEach(function (l) { box.removeChild(l); });
    (app.context ? app.context.statuses : []).forEach(function (s) {
      var label = document.createElement("label");
      label.className = "check";
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "status";
      input.value = s.status;
      input.id = "status-" + s.status;
      input.dataset.callback = s.callback ? "1" : "0";
      label.htmlFor = input.id;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + s.status + " — " + s.name));
      box.appendChild(label);
    });
  }

  function openDispo() {
    var d = $("dispo-dialog");
    if (d.open) return;
    $("dispo-error").textContent = "";
    Array.prototype.forEach.call(d.querySelectorAll("input[name=status]"), function (i) { i.checked = false; });
    $("dispo-callback").hidden = true;
    $("dispo-pause").checked = !!(app.state && app.state.pending === "PAUSE");
    d.showModal();
  }

  function closeDispo() {
    var d = $("dispo-dialog");
    if (d.open) d.close();
  }

  function submitDispo(ev) {
    ev.preventDefault();
    var chosen = document.querySelector("#dispo-statuses input:checked");
    if (!chosen) { $("dispo-error").textContent = "Choose a call result."; return; }
    var body = { status: chosen.value };
    if (chosen.dataset.callback === "1") {
      var when = $("cb-when").value;
      if (!when) { $("dispo-error").textContent = "Choose the callback time."; return; }
      body.callback_datetime = when.replace("T", " ") + (when.length === 16 ? ":00" : "");
      body.callback_type = $("cb-type").value;
      body.comments = $("cb-comments").value;
    }
    var pauseFirst = $("dispo-pause").checked && !(app.state && app.state.pending === "PAUSE")
      ? request("POST", "/agent/pause", {}).catch(function () {}) : Promise.resolve();
    pauseFirst.then(function () {
      return requestState("POST", "/agent/dispo", body);
    }).then(function (data) {
      renderReply(data);
      log("Dispositioned " + body.status);
    }).catch(function (err) {
      if (err.status === 401) return showLogin(LOGGED_OUT);
      $("dispo-error").textContent = err.message;
    });
  }

  // --- notifications and timer messages ----------------------------------------------------------------------

  function showNotification(ev) {
    var box = $("notification");
    var text = $("notification-text");
    if (ev.text) {
      text.textContent = ev.text;
      text.style.fontSize = (parseInt(ev.size, 10) || 12) + "px";
      text.style.fontFamily = ev.font || "Arial";
      text.style.fontWeight = ev.weight || "bold";
      text.style.color = ev.color || "black";
      box.hidden = false;
      clearTimeout(app.notificationTimer);
      app.notificationTimer = setTimeout(function () { box.hidden = true; }, 15000);
      log("Notification: " + ev.text);
    }
    if (ev.confetti && window.openagcConfetti) {
      window.openagcConfetti($("confetti"), window.openagcConfetti.parseOptions(ev.confetti_options));
    }
  }

  function showTimerMessage(text) {
    var box = $("timer-message");
    box.textContent = text;
    box.hidden = !text;
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

  function handle(name, ev) {
    switch (name) {
      case "state": app.pushes++; render(ev.state); break;
      case "logged_out": log("Logged out"); showLogin(LOGGED_OUT); break;
      case "call": log((ev.direction === "inbound" ? "Inbound call" : "Call") + " — lead " + ev.lead_id +
        (ev.group ? " from " + ev.group : "")); break;
      case "answered": log("Answered — lead " + ev.lead_id); break;
      case "dialing": log("Dialing " + ev.phone_number); break;
      case "dial_failed": log("Dial failed: " + ev.reason); say("Dial failed: " + ev.reason, true); break;
      case "customer_hangup": log("Customer hung up"); break;
      case "call_ended": log("Call ended (" + ev.term_reason + ")"); showTimerMessage(""); break;
      case "dispositioned": log("Dispositioned " + ev.status + (ev.callback ? " (callback)" : "")); break;
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
      case "lead_switched": log("Lead switched to " + ev.lead_id); loadLead(); loadScript(); break;
      case "pause_code_required": log("Choose a pause code"); say("Choose a pause code.", true);
        $("pause-code").focus(); break;
      case "manual_dial_queue": log("Queued dial " + ev.phone_number); break;
      case "preview": log("Preview lead " + ev.lead_id + " " + ev.phone_number); break;
      case "command_ignored": log("Ignored " + ev.command + " " + ev.value); break;
      default: log(name);
    }
  }

  function onUpdateFields(ev) {
    var values = ev.lead || {};
    if (Object.keys(values).length) updateLeadFields(values);
    var reload = {};
    (ev.fields || []).forEach(function (f) { if (PANEL_RELOAD[f]) reload[PANEL_RELOAD[f]] = true; });
    if (reload.lead) loadLead();
    if (reload.script) loadScript();
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
        app.ingroupsEdited = false;
        showApp();
        render(data.state);
        loadContext();
        loadCallbacks();
        connect();
        log("Logged in to " + body.campaign + " (session " + data.conf_exten + ")");
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
    document.querySelectorAll("[data-xfer]").forEach(function (b) {
      b.addEventListener("click", function () {
        act("POST", "/console/api/transfer", { "function": b.dataset.xfer, phone_number: $("xfer-number").value,
          ingroup: $("xfer-group").value, consultative: $("xfer-consult").checked ? "YES" : "NO" },
          b.textContent + ": sent");
      });
    });
    document.querySelectorAll("[data-park]").forEach(function (b) {
      b.addEventListener("click", function () {
        act("POST", "/console/api/park", { action: b.dataset.park }, b.textContent + ": sent");
      });
    });
    document.querySelectorAll("[data-record]").forEach(function (b) {
      b.addEventListener("click", function () {
        act("POST", "/console/api/record", { action: b.dataset.record }, b.textContent + ": sent");
      });
    });
    document.querySelectorAll("[data-dtmf]").forEach(function (b) {
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
    $("btn-callbacks").addEventListener("click", loadCallbacks);
    $("btn-call-phone").addEventListener("click", function () {
      act("POST", "/console/api/phone", {}, "Calling your phone…");
    });
    $("dispo-form").addEventListener("submit", submitDispo);
    $("dispo-dialog").addEventListener("cancel", function (ev) { ev.preventDefault(); }); // a call needs a result
    $("dispo-statuses").addEventListener("change", function (ev) {
      $("dispo-callback").hidden = !(ev.target && ev.target.dataset.callback === "1");
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
