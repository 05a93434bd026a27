"""`openagc asterisk-config` / `write_config`: the Asterisk 22 configuration the project ships.

The dialplan is parsed and matched the way Asterisk matches extensions, so every exten the engine and the
adapter target is checked to reach the intended entry. With an Asterisk binary (``ASTERISK_BIN``, else
``/opt/asterisk/sbin/asterisk``) the written configuration is also loaded by a real Asterisk.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from openagc.cli import app
from openagc.engine import transfer
from openagc.store.schema import vicidial_campaigns
from openagc.switch import asterisk
from openagc.switch.asterisk import AsteriskSettings
from openagc.switch.asterisk_config import (
    AMI_ACTIONS,
    AMI_EVENTS,
    AMI_READ,
    AMI_WRITE,
    TEMPLATES,
    TEST_NUMBERS,
    AsteriskConfigOptions,
    AsteriskDirectories,
    Phone,
    derive_extens,
    render,
    template_names,
    write_config,
)

CONF = "8600051"
DEFAULTS = AsteriskSettings(host="127.0.0.1", port=5038, username="u", secret="s", server_ip="10.10.10.15")


# --- a small reading of Asterisk's config format and extension matching --------------------------------------


def sections(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """`[name]` sections with their `key = value` / `key => value` lines (comments dropped), in order."""
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip() if not raw.lstrip().startswith("same") else raw.strip()
        if not line or line.startswith(";"):
            continue
        head = re.fullmatch(r"\[([^\]]+)\](\(.*\))?", line)
        if head:
            out.append((head[1], []))
            continue
        key, _, value = re.split(r"\s*(=>?)\s*", line, maxsplit=1)
        out[-1][1].append((key.strip(), value.strip()))
    return out


def section(text: str, name: str) -> list[tuple[str, str]]:
    found = [lines for title, lines in sections(text) if title == name]
    assert len(found) == 1, f"[{name}] appears {len(found)} times"
    return found[0]


def dialplan(text: str) -> dict[str, dict[str, list[str]]]:
    """context → exten → its application lines (priority 1 and the `same =>` lines)."""
    plan: dict[str, dict[str, list[str]]] = {}
    context, exten = "", ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        head = re.fullmatch(r"\[([^\]]+)\]", line)
        if head:
            context = head[1]
            plan.setdefault(context, {})
        elif line.startswith("exten =>"):
            exten, _, rest = line.removeprefix("exten =>").strip().partition(",")
            plan[context].setdefault(exten, []).append(rest.partition(",")[2])
        elif line.startswith("same =>"):
            plan[context][exten].append(line.removeprefix("same =>").strip().partition(",")[2])
    return plan


def _regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    body = pattern[1:].replace("-", "")
    while i < len(body):
        c = body[i]
        if c == "[":
            end = body.index("]", i)
            out += f"[{re.escape(body[i + 1:end]).replace(chr(92) + '-', '-')}]"
            i = end
        else:
            out += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(c.upper(), re.escape(c))
        i += 1
    return re.compile(out)


def _weights(pattern: str) -> list[int]:
    """Asterisk's ordering of patterns: position by position, the fewer characters a place matches, the earlier."""
    body, i, out = pattern[1:].replace("-", ""), 0, []
    while i < len(body):
        c = body[i]
        if c == "[":
            end = body.index("]", i)
            out.append(len(_regex(f"_[{body[i + 1:end]}]").pattern))
            i = end
        else:
            out.append({"X": 10, "Z": 9, "N": 8, ".": 1000, "!": 2000}.get(c.upper(), 1))
        i += 1
    return out


def best_match(extens: dict[str, list[str]], target: str) -> str | None:
    """The exten Asterisk runs for `target`: an exact name first, else the most specific matching pattern."""
    if target in extens:
        return target
    bare = target.replace("-", "")  # Asterisk ignores '-' in patterns and in the number matched
    matching = [e for e in extens if e.startswith("_") and _regex(e).fullmatch(bare)]
    return min(matching, key=_weights, default=None)


def local_exten(channel: str) -> tuple[str, str]:
    found = re.fullmatch(r"Local/([^@]+)@([^/]+)(/n)?", channel)
    assert found, channel
    return found[1], found[2]


@pytest.fixture
def written(tmp_path: Path) -> dict[str, str]:
    options = AsteriskConfigOptions(phones=[("1000", "IAX2"), ("1001", "PJSIP")], test_customers=True,
                                    dids=[("3125550000", "TEST_IN")], remote_agents=[("71028", "13125551028")])
    write_config(tmp_path, options)
    return {p.name: p.read_text() for p in tmp_path.iterdir()}


# --- the command ---------------------------------------------------------------------------------------------


def test_cli_writes_every_file_and_prints_the_generated_secret(tmp_path: Path) -> None:
    out = tmp_path / "etc"
    result = CliRunner().invoke(app, ["asterisk-config", "--out", str(out), "--phone", "IAX2/1000",
                                      "--did", "3125550000=TEST_IN", "--ami-port", "15038"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(TEMPLATES) == template_names()
    manager = (out / "manager.conf").read_text()
    secret = dict(section(manager, "openagc"))["secret"]
    assert len(secret) >= 20 and secret in result.output
    assert dict(section(manager, "general"))["port"] == "15038"
    assert (out / "manager.conf").stat().st_mode & 0o077 == 0
    assert f"astetcdir => {out.resolve()}" in (out / "asterisk.conf").read_text()
    assert "exten => 3125550000,1,Gosub(openagc-ingroup,s,1(TEST_IN,))" in (out / "extensions.conf").read_text()


def test_cli_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["asterisk-config", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / "extensions.conf").write_text("; site edits\n")
    again = runner.invoke(app, ["asterisk-config", "--out", str(tmp_path)])
    assert again.exit_code != 0 and "--force" in again.output
    assert (tmp_path / "extensions.conf").read_text() == "; site edits\n"
    assert runner.invoke(app, ["asterisk-config", "--out", str(tmp_path), "--force"]).exit_code == 0
    assert (tmp_path / "extensions.conf").read_text() != "; site edits\n"


def test_cli_rejects_chan_sip_phones(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["asterisk-config", "--out", str(tmp_path), "--phone", "SIP/1000"])
    assert result.exit_code != 0 and "chan_sip" in result.output


# --- the AMI account -----------------------------------------------------------------------------------------


def test_ami_rights_are_exactly_what_the_adapter_needs(written: dict[str, str]) -> None:
    account = dict(section(written["manager.conf"], "openagc"))
    assert set(account["read"].split(",")) == {"call", "dtmf", "user"} == set(AMI_READ)
    assert set(account["write"].split(",")) == {"call", "originate", "system"} == set(AMI_WRITE)
    # every event class is read, every action is allowed, and no class could be dropped
    assert set(AMI_READ) == set(AMI_EVENTS.values())
    write = set(AMI_WRITE)
    assert all(not needs or write & set(needs) for needs in AMI_ACTIONS.values())
    for cls in write:
        assert any(needs and not (write - {cls}) & set(needs) for needs in AMI_ACTIONS.values()), cls


def test_the_rights_table_covers_every_action_and_event_of_the_adapter() -> None:
    source = Path(asterisk.__file__).read_text()
    sent = set(re.findall(r'"Action": "(\w+)"', source))
    handled = set(re.findall(r'name == "(\w+)"', source))
    for group in re.findall(r"name in \(([^)]*)\)", source):
        handled |= set(re.findall(r'"(\w+)"', group))
    assert sent and handled
    assert sent <= set(AMI_ACTIONS), sent - set(AMI_ACTIONS)
    assert handled <= set(AMI_EVENTS), handled - set(AMI_EVENTS)


def test_observer_account_only_when_asked(tmp_path: Path) -> None:
    assert "read = all" not in render(AsteriskConfigOptions(), tmp_path)["manager.conf"]
    text = render(AsteriskConfigOptions(observer_ami=("tracer", "tr-secret-1")), tmp_path)["manager.conf"]
    assert dict(section(text, "tracer")) | {"permit": ""} == {
        "secret": "tr-secret-1", "deny": "0.0.0.0/0.0.0.0", "permit": "", "read": "all", "write": "all"}


# --- secrets -------------------------------------------------------------------------------------------------


def _secrets(files: dict[str, str]) -> dict[str, list[str]]:
    return {name: re.findall(r"^(?:secret|password)\s*=\s*(\S+)", text, re.M) for name, text in files.items()}


def test_no_file_carries_a_fixed_secret(tmp_path: Path) -> None:
    options = [AsteriskConfigOptions(phones=[("1000", "IAX2"), ("1001", "PJSIP")]) for _ in range(2)]
    first, second = (_secrets(render(o, tmp_path)) for o in options)
    values = [v for vs in first.values() for v in vs]
    assert len(values) == 3  # the AMI account, the IAX2 phone, the PJSIP phone's auth
    assert all(len(v) >= 20 for v in values)
    assert not set(values) & {"1234", "test", "openagc-ami-secret", "phone-secret", "tracer-ami-secret"}
    assert not set(values) & {v for vs in second.values() for v in vs}  # generated afresh each time
    assert {name for name, vs in first.items() if vs} == {"manager.conf", "iax.conf", "pjsip.conf"}
    write_config(tmp_path, options[0])
    for name in ("manager.conf", "iax.conf", "pjsip.conf"):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0, name


def test_given_secrets_are_written(tmp_path: Path) -> None:
    phone = Phone("1000", "IAX2", secret="phone-pw-given")
    files = render(AsteriskConfigOptions(ami_secret="ami-pw-given", phones=[phone]), tmp_path)
    assert _secrets(files)["manager.conf"] == ["ami-pw-given"]
    assert _secrets(files)["iax.conf"] == ["phone-pw-given"]
    with pytest.raises(ValueError, match="secret"):
        AsteriskConfigOptions(ami_secret="bad;secret")


# --- the dialplan --------------------------------------------------------------------------------------------


def _targets(settings: AsteriskSettings) -> dict[str, str]:
    """Every exten the adapter (with `settings`) and the engine send a channel to, by what it is for.

    The in-group extens come from the engine's own `transfer.ingroup_exten`.
    """
    c = settings.context
    campaign = {"dial_prefix": settings.dial_prefix, "three_way_dial_prefix": ""}
    ctx = SimpleNamespace(campaign=campaign, user="1000", campaign_id="TESTCAMP")
    lead = {"phone_code": "1", "phone_number": "3125551212", "lead_id": 5}
    vm_base = str(vicidial_campaigns.c.am_message_exten.server_default.arg)  # type: ignore[union-attr]
    customer = local_exten(settings.dial_pattern.format(prefix=settings.dial_prefix, number="13125551002",
                                                        carrier="", context=c))
    assert customer[1] == c
    return {
        "conference": settings.conference_exten.format(conference=CONF, context=c),
        "recording": local_exten(settings.recording_channel.format(conference=CONF, context=c))[0],
        "dtmf entry": settings.dtmf_exten.format(conference=CONF, context=c),
        "dtmf player": local_exten(settings.dtmf_channel.format(context=c))[0],
        "playback": local_exten(settings.playback_channel.format(conference=CONF, context=c))[0],
        "park": settings.park_exten,
        "customer": customer[0],
        "blind transfer": f"{campaign['dial_prefix']}13125558888",  # campaign dial prefix + phone code + number
        "international": f"{settings.dial_prefix}011441234567890",
        "local closer": transfer.ingroup_exten(ctx, lead, transfer.Command("LOCAL_CLOSER", ingroup="TEST_IN"),  # type: ignore[arg-type]
                                               consult=False),
        "consultative": transfer.ingroup_exten(ctx, lead, transfer.Command("DIAL_WITH_CUSTOMER", ingroup="TEST_IN",  # type: ignore[arg-type]
                                                                           consultative="YES"), consult=True),
        "ra_call_control": "90009*TEST_IN**5**3125551212**1000**",
        "leave vm": f"{vm_base}*TESTCAMP*1*3125551212*5",
        "upstream message exten": "8320*TESTCAMP*1*3125551212*5",
        "remote agent": "71028",
    }


EXPECTED = {
    "conference": "_86000XX", "recording": "_586000XX", "dtmf entry": "_786000XX", "dtmf player": "8500998",
    "playback": "_86000XX", "park": "8301", "customer": "_91NXXNXXXXXX", "blind transfer": "_91NXXNXXXXXX",
    "international": "_9X.", "local closer": "_990009*.", "consultative": "_90009*.",
    "ra_call_control": "_90009*.", "leave vm": "_vm-goodbye*.", "upstream message exten": "_8320*.",
    "remote agent": "71028",
}


def test_every_exten_the_engine_and_adapter_target_exists(written: dict[str, str]) -> None:
    plan = dialplan(written["extensions.conf"])
    targets = _targets(DEFAULTS)
    assert targets.keys() == EXPECTED.keys()
    found = {what: best_match(plan["default"], exten) for what, exten in targets.items()}
    assert found == EXPECTED


def test_the_extens_run_what_they_are_for(written: dict[str, str]) -> None:
    default = dialplan(written["extensions.conf"])["default"]
    assert "ConfBridge(${EXTEN},openagc_bridge,openagc_user,openagc_menu)" in default["_86000XX"]
    assert "ConfBridge(${EXTEN:1},openagc_bridge,openagc_listen,openagc_menu)" in default["_586000XX"]
    assert "ConfBridge(${EXTEN:1},openagc_bridge,openagc_quiet,openagc_menu)" in default["_786000XX"]
    assert any(app.startswith("SendDTMF(") for app in default["8500998"])
    assert not any("AGI(" in app for apps in default.values() for app in apps)
    assert "MusicOnHold(default)" in default["8301"]
    assert default["_91NXXNXXXXXX"][0] == default["_9X."][0] == "Gosub(openagc-trunk,s,1(${EXTEN:1}))"
    assert default["_990009*."][0] == "Gosub(openagc-ingroup,s,1(${CUT(EXTEN,*,2)},${EXTEN}))"
    assert default["_vm-goodbye*."] == ["Goto(openagc-message,s,1)"]
    assert default["71028"][0] == "Gosub(openagc-trunk,s,1(13125551028))"


def test_trunk_signals_the_dial_failure(written: dict[str, str]) -> None:
    trunk = dialplan(written["extensions.conf"])["openagc-trunk"]["s"]
    assert trunk[2] == "Dial(Local/${NUMBER}@openagc-customers,,o)"
    assert 'GotoIf($["${DIALSTATUS}" = "BUSY"]?busy)' in trunk
    assert 'GotoIf($["${DIALSTATUS}" = "CONGESTION" | "${DIALSTATUS}" = "CHANUNAVAIL"]?congestion)' in trunk
    assert 'GotoIf($["${DIALSTATUS}" = "NOANSWER"]?noanswer)' in trunk
    text = written["extensions.conf"]
    for label, step in (("busy", "Busy(2)"), ("congestion", "Congestion(2)"), ("noanswer", "Hangup(19)")):
        assert f" same => n({label}),{step}\n" in text


def test_no_dial_uses_the_transfer_option(written: dict[str, str]) -> None:
    code = "\n".join(line for line in written["extensions.conf"].splitlines() if not line.lstrip().startswith(";"))
    dials = re.findall(r"Dial\(([^)]*(?:\)[^)]*)?)\)", code)
    assert dials
    for args in dials:
        options = (args.split(",") + ["", "", ""])[2]
        assert "T" not in options and "t" not in options, args


def test_without_a_trunk_the_dial_is_a_marked_site_place(tmp_path: Path) -> None:
    text = render(AsteriskConfigOptions(), tmp_path)["extensions.conf"]
    trunk = dialplan(text)["openagc-trunk"]["s"]
    assert not any(app.startswith("Dial(") for app in trunk)
    assert "Set(DIALSTATUS=CHANUNAVAIL)" in trunk
    assert "; >>> SITE: your trunk here" in text
    given = render(AsteriskConfigOptions(trunk="PJSIP/${NUMBER}@mytrunk"), tmp_path)["extensions.conf"]
    assert "Dial(PJSIP/${NUMBER}@mytrunk,,o)" in dialplan(given)["openagc-trunk"]["s"]
    assert "openagc-customers" not in dialplan(given)


def test_inbound_raises_the_adapters_userevent(written: dict[str, str]) -> None:
    plan = dialplan(written["extensions.conf"])
    assert plan["openagc-inbound"]["3125550000"][0] == "Gosub(openagc-ingroup,s,1(TEST_IN,))"
    sub = plan["openagc-ingroup"]["s"]
    event = next(app for app in sub if app.startswith("UserEvent("))
    assert event.startswith(f"UserEvent({DEFAULTS.inbound_userevent},InGroup: ${{ARG1}},CallID: ${{CALLERID(name)}},")
    assert sub.index(event) < sub.index("MusicOnHold(default)")


def test_test_customers_cover_every_outcome(written: dict[str, str]) -> None:
    customers = dialplan(written["extensions.conf"])["openagc-customers"]
    assert {best_match(customers, n) for n in TEST_NUMBERS.values()} == {
        "_1312555XXXX", *(n for k, n in TEST_NUMBERS.items() if k != "answer")}
    assert "Busy(10)" in customers[TEST_NUMBERS["busy"]]
    assert "Congestion(10)" in customers[TEST_NUMBERS["congestion"]]


def test_dialplan_follows_the_adapter_settings(tmp_path: Path) -> None:
    settings = replace(DEFAULTS, context="openagc", park_exten="8302", dtmf_channel="Local/8500999@{context}",
                       dial_prefix="8", recording_channel="Local/6{conference}@{context}/n")
    plan = dialplan(render(AsteriskConfigOptions(settings=settings), tmp_path)["extensions.conf"])
    assert "default" not in plan
    found = {what: best_match(plan["openagc"], exten) for what, exten in _targets(settings).items()}
    assert found["park"] == "8302" and found["dtmf player"] == "8500999" and found["recording"] == "_686000XX"
    assert found["customer"] == "_81NXXNXXXXXX" and found["blind transfer"] == "_81NXXNXXXXXX"
    assert found.pop("remote agent") is None  # none configured
    assert None not in found.values(), found
    assert derive_extens(settings).dial_prefix == "8"


def test_settings_the_dialplan_cannot_serve_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="recording_channel"):
        render(AsteriskConfigOptions(settings=replace(DEFAULTS, recording_channel="SIP/rec{conference}")), tmp_path)
    with pytest.raises(ValueError, match="dtmf_channel"):
        render(AsteriskConfigOptions(settings=replace(DEFAULTS, dtmf_channel="Local/8500998@other")), tmp_path)


def test_phones_are_written_for_their_protocol(written: dict[str, str]) -> None:
    iax = dict(section(written["iax.conf"], "1000"))
    assert iax["type"] == "friend" and iax["context"] == "openagc-phones" and iax["host"] == "dynamic"
    pjsip = [title for title, _ in sections(written["pjsip.conf"])]
    assert pjsip.count("1001") == 3 and "transport-udp" in pjsip
    assert "include" in dict(section(written["extensions.conf"], "openagc-phones"))


def test_loopback_phones_answer_in_this_asterisk(tmp_path: Path) -> None:
    files = render(AsteriskConfigOptions(phones=[("1000", "IAX2")], loopback_phones=True, iax_port=14569), tmp_path)
    peer = dict(section(files["iax.conf"], "1000"))
    user = dict(section(files["iax.conf"], "loop1000"))
    assert (peer["host"], peer["port"], peer["username"]) == ("127.0.0.1", "14569", "loop1000")
    assert peer["secret"] == user["secret"] and user["context"] == "openagc-loopback-phone"
    assert "Answer()" in dialplan(files["extensions.conf"])["openagc-loopback-phone"]["s"]


def test_confbridge_passes_dtmf_through(written: dict[str, str]) -> None:
    profiles = dict(sections(written["confbridge.conf"]))
    assert dict(profiles["openagc_user"])["dtmf_passthrough"] == "yes"
    assert dict(profiles["openagc_quiet"])["dtmf_passthrough"] == "yes"
    assert dict(profiles["openagc_listen"])["startmuted"] == "yes"
    assert dict(profiles["openagc_bridge"])["type"] == "bridge"


# --- a real Asterisk ---------------------------------------------------------------------------------------------


def _asterisk_bin() -> Path | None:
    found = os.environ.get("ASTERISK_BIN") or "/opt/asterisk/sbin/asterisk"
    return Path(found) if Path(found).is_file() and os.access(found, os.X_OK) else None


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(_asterisk_bin() is None, reason="no Asterisk binary (set ASTERISK_BIN)")
def test_a_real_asterisk_loads_the_configuration(tmp_path: Path) -> None:
    binary = _asterisk_bin()
    assert binary is not None
    prefix = binary.parent.parent
    sounds = Path("/usr/share/asterisk/sounds")
    dirs = AsteriskDirectories.under(tmp_path / "state", etc=tmp_path / "etc", modules=prefix / "lib/asterisk/modules",
                                     data_from=prefix / "var/lib/asterisk", sounds=sounds if sounds.is_dir() else None)
    dirs.create()
    ami_port = _free_port(socket.SOCK_STREAM)
    options = AsteriskConfigOptions(ami_port=ami_port, iax_bind="127.0.0.1", iax_port=_free_port(socket.SOCK_DGRAM),
                                    phones=[("1000", "IAX2")], loopback_phones=True, test_customers=True,
                                    dids=[("3125550000", "TEST_IN")], directories=dirs)
    write_config(tmp_path / "etc", options)
    conf = str(tmp_path / "etc" / "asterisk.conf")
    proc = subprocess.Popen([str(binary), "-C", conf, "-f", "-n"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)

    def cli(command: str) -> str:
        return subprocess.run([str(binary), "-C", conf, "-rx", command], capture_output=True, text=True,
                              timeout=10).stdout

    try:
        deadline = time.monotonic() + 30
        while "fully booted" not in cli("core waitfullybooted") and time.monotonic() < deadline:
            assert proc.poll() is None, "asterisk exited"
            time.sleep(0.3)
        plan = cli("dialplan show default")
        for exten in EXPECTED.values():
            if exten != "71028":
                assert f"'{exten}'" in plan, exten
        user = cli(f"manager show user {options.ami_user}")
        perms = dict(re.findall(r"(read|write) perm: (\S+)", user))
        assert set(perms["read"].split(",")) == set(AMI_READ) and set(perms["write"].split(",")) == set(AMI_WRITE)
        assert "app_confbridge.so" in cli("module show like app_confbridge")
        assert "1000" in cli("iax2 show peers")
        assert "'_990009*.'" in cli("dialplan show 990009*TEST_IN**5**3125551212*1000**@default").split("\n")[1]
        with socket.create_connection(("127.0.0.1", ami_port), timeout=5) as s:
            assert s.recv(100).startswith(b"Asterisk Call Manager/")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp_path / "state" / "run", ignore_errors=True)
