"""The Asterisk (AMI) adapter against a fake AMI server speaking the text protocol over TCP.

The fake server logs every action it receives (ordered header lists), answers with scripted responses,
and lets a test push AMI events; tests assert the exact actions sent and the SwitchEvents derived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from openagc.switch.asterisk import (
    AsteriskError,
    AsteriskSettings,
    AsteriskSwitch,
    RecordingNotFound,
    connect,
)
from openagc.switch.port import ChannelKind, ChannelState, EventKind, SwitchEvent, SwitchPort

CONF = "8600051"
CALL_ID = "M0115103000000012345"
EOL = "\r\n"

Headers = list[tuple[str, str]]


@dataclass
class FakeAmi:
    """A minimal Asterisk Manager Interface: banner, Login, scripted responses and pushed events."""

    secret: str = "1234"
    channels: list[dict[str, str]] = field(default_factory=list)  # CoreShowChannel bodies
    errors: dict[str, str] = field(default_factory=dict)  # action → error message to answer with
    #: Called with each Originate's headers; returns events to send after its response.
    on_originate: Callable[[dict[str, str]], list[dict[str, str]]] | None = None
    actions: list[Headers] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for w in self.writers:
            w.close()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def settings(self, **kwargs: object) -> AsteriskSettings:
        base: dict[str, object] = dict(
            host="127.0.0.1",
            port=self.port,
            username="cron",
            secret="1234",
            server_ip="10.10.10.15",
            action_timeout=2.0,
        )
        base.update(kwargs)
        return AsteriskSettings(**base)  # type: ignore[arg-type]

    # ---- protocol

    @staticmethod
    def _encode(msg: dict[str, str]) -> bytes:
        return ("".join(f"{k}: {v}{EOL}" for k, v in msg.items()) + EOL).encode()

    def push(self, **event: str) -> None:
        """Send an event (keyword order = header order; `Event` first) to every client."""
        for w in self.writers:
            w.write(self._encode(event))

    def sent(self, action: str) -> list[dict[str, str]]:
        """Every received action of that name, as dicts."""
        return [dict(h) for h in self.actions if dict(h).get("Action") == action]

    def names(self) -> list[str]:
        return [dict(h)["Action"] for h in self.actions if dict(h)["Action"] != "Ping"]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(f"Asterisk Call Manager/5.0.1{EOL}".encode())
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                headers: Headers = []
                for line in raw.decode().split(EOL):
                    if ": " in line:
                        k, v = line.split(": ", 1)
                        headers.append((k, v))
                self.actions.append(headers)
                self._answer(writer, dict(headers))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if writer in self.writers:
                self.writers.remove(writer)

    def _answer(self, writer: asyncio.StreamWriter, action: dict[str, str]) -> None:
        name, aid = action.get("Action", ""), action.get("ActionID", "")
        reply = lambda **kw: writer.write(self._encode({**kw, "ActionID": aid}))  # noqa: E731
        if name == "Login":
            if action.get("Secret") != self.secret:
                reply(Response="Error", Message="Authentication failed")
                return
            reply(Response="Success", Message="Authentication accepted")
            writer.write(self._encode({"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}))
        elif name in self.errors:
            reply(Response="Error", Message=self.errors[name])
        elif name == "Ping":
            reply(Response="Success", Ping="Pong")
        elif name == "Originate":
            reply(Response="Success", Message="Originate successfully queued")
            for event in self.on_originate(action) if self.on_originate else []:
                writer.write(self._encode(event))
        elif name == "CoreShowChannels":
            reply(Response="Success", EventList="start", Message="Channels will follow")
            for body in self.channels:
                writer.write(self._encode({"Event": "CoreShowChannel", "ActionID": aid, **body}))
            writer.write(
                self._encode(
                    {
                        "Event": "CoreShowChannelsComplete",
                        "ActionID": aid,
                        "EventList": "Complete",
                        "ListItems": str(len(self.channels)),
                    }
                )
            )
        else:
            reply(Response="Success", Message=f"{name} done")


def run(body: Callable[[FakeAmi], Awaitable[None]], **fake: object) -> None:
    async def main() -> None:
        ami = FakeAmi(**fake)  # type: ignore[arg-type]
        await ami.start()
        try:
            await body(ami)
        finally:
            await ami.stop()

    asyncio.run(main())


async def until(cond: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait (polling the loop) until `cond()` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)


async def open_switch(ami: FakeAmi, **kwargs: object) -> tuple[AsteriskSwitch, list[SwitchEvent]]:
    switch = await connect(ami.settings(**kwargs))
    events: list[SwitchEvent] = []
    switch.subscribe(events.append)
    return switch, events


def without_ids(action: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in action.items() if k not in ("ActionID", "ChannelId")}


def kinds(events: list[SwitchEvent]) -> list[EventKind]:
    return [e.kind for e in events]


# --------------------------------------------------------------------------------------------- tests


def test_login_and_protocol() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, _ = await open_switch(ami)
        assert isinstance(switch, SwitchPort)
        assert switch.server_ip == "10.10.10.15"
        login = ami.sent("Login")[0]
        assert without_ids(login) == {"Action": "Login", "Events": "on", "Secret": "1234", "Username": "cron"}
        await switch.aclose()

    run(body)


def test_login_refused() -> None:
    async def body(ami: FakeAmi) -> None:
        with pytest.raises(AsteriskError, match="Authentication failed"):
            await connect(ami.settings(secret="wrong"))

    run(body)


def test_connect_refused() -> None:
    async def body(ami: FakeAmi) -> None:
        settings = ami.settings()
        await ami.stop()
        ami.server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # for the final stop()
        with pytest.raises(OSError):
            await connect(settings)

    run(body)


def test_originate_answered_then_hangup() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami)
        returned = await switch.originate(
            number="5551234", call_id=CALL_ID, conference=CONF, caller_id="3125551000", timeout=30.0
        )
        orig = ami.sent("Originate")[0]
        assert without_ids(orig) == {
            "Action": "Originate",
            "Async": "true",
            "CallerID": f'"{CALL_ID}" <3125551000>',
            "Channel": "Local/95551234@default",
            "Context": "default",
            "Exten": CONF,
            "Priority": "1",
            "Timeout": "30000",
        }
        assert orig["ActionID"].startswith("openagc-")
        uid = orig["ChannelId"]
        assert returned.uniqueid == uid and returned.state == ChannelState.RINGING

        name = "Local/95551234@default-00000001;1"
        ami.push(
            Event="Newchannel",
            Channel=name,
            ChannelState="0",
            ChannelStateDesc="Down",
            CallerIDNum="",
            CallerIDName="",
            Uniqueid=uid,
        )
        ami.push(
            Event="Newchannel",
            Channel="Local/95551234@default-00000001;2",
            ChannelState="4",
            ChannelStateDesc="Ring",
            CallerIDNum="3125551000",
            CallerIDName=CALL_ID,
            Uniqueid="1768473000.2",
        )
        ami.push(
            Event="Newchannel",
            Channel="SIP/carrier-00000002",
            ChannelState="0",
            ChannelStateDesc="Down",
            CallerIDNum="3125551000",
            CallerIDName=CALL_ID,
            Uniqueid="1768473000.3",
        )
        ami.push(
            Event="Newstate",
            Channel="SIP/carrier-00000002",
            ChannelState="5",
            ChannelStateDesc="Ringing",
            CallerIDName=CALL_ID,
            Uniqueid="1768473000.3",
        )
        ami.push(
            Event="Newstate", Channel=name, ChannelState="6", ChannelStateDesc="Up", CallerIDName=CALL_ID, Uniqueid=uid
        )
        ami.push(
            Event="OriginateResponse",
            ActionID=orig["ActionID"],
            Response="Success",
            Channel=name,
            Context="default",
            Exten=CONF,
            Reason="4",
            Uniqueid=uid,
            CallerIDNum="3125551000",
            CallerIDName=CALL_ID,
        )
        await until(lambda: len(events) >= 2)
        await switch.settle()
        assert kinds(events) == [EventKind.RINGING, EventKind.ANSWERED]
        answered = events[1].channel
        assert (answered.name, answered.uniqueid, answered.call_id) == (name, uid, CALL_ID)
        assert answered.kind == ChannelKind.CUSTOMER and answered.state == ChannelState.UP
        assert answered.conference == CONF and answered.number == "5551234"
        assert events[0].channel.name == name  # reported on the primary, not the far leg

        # the far leg and the ;2 half go first (secondary: no events), then the primary
        ami.push(
            Event="Hangup",
            Channel="SIP/carrier-00000002",
            Uniqueid="1768473000.3",
            CallerIDName=CALL_ID,
            Cause="16",
            **{"Cause-txt": "Normal Clearing"},
        )
        ami.push(
            Event="Hangup",
            Channel="Local/95551234@default-00000001;2",
            Uniqueid="1768473000.2",
            CallerIDName=CALL_ID,
            Cause="16",
            **{"Cause-txt": "Normal Clearing"},
        )
        ami.push(
            Event="Hangup",
            Channel=name,
            Uniqueid=uid,
            CallerIDName=CALL_ID,
            Cause="16",
            **{"Cause-txt": "Normal Clearing"},
        )
        await until(lambda: len(events) >= 3)
        await asyncio.sleep(0.05)
        await switch.settle()
        assert kinds(events) == [EventKind.RINGING, EventKind.ANSWERED, EventKind.HANGUP]
        assert events[2].cause == "NORMAL_CLEARING" and events[2].channel.state == ChannelState.DOWN
        await switch.aclose()

    run(body)


def test_originate_busy_by_hangup_cause_reported_once() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami, dial_pattern="SIP/{carrier}/{number}", carrier="carrier")
        await switch.originate(number="5551234", call_id=CALL_ID, conference=CONF, caller_id="3125551000")
        orig = ami.sent("Originate")[0]
        assert orig["Channel"] == "SIP/carrier/5551234"
        name = "SIP/carrier-0000000a"
        ami.push(Event="Newchannel", Channel=name, ChannelState="0", CallerIDName=CALL_ID, Uniqueid=orig["ChannelId"])
        ami.push(
            Event="Hangup",
            Channel=name,
            Uniqueid=orig["ChannelId"],
            CallerIDName=CALL_ID,
            Cause="17",
            **{"Cause-txt": "User busy"},
        )
        ami.push(
            Event="OriginateResponse",
            ActionID=orig["ActionID"],
            Response="Failure",
            Channel="SIP/carrier/5551234",
            Reason="5",
            Uniqueid="<null>",
            CallerIDName=CALL_ID,
        )
        await until(lambda: len(events) >= 2)
        await asyncio.sleep(0.05)
        await switch.settle()
        assert kinds(events) == [EventKind.BUSY, EventKind.HANGUP]
        assert [e.cause for e in events] == ["BUSY", "BUSY"]
        assert events[0].channel.name == name and events[0].channel.call_id == CALL_ID
        await switch.aclose()

    run(body)


def test_dial_end_noanswer_and_originate_failure_without_channel() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami)
        # 1: a Local originate whose far leg does not answer (DialEnd NOANSWER on the ;2 half's Dial)
        await switch.originate(number="5551234", call_id=CALL_ID, conference=CONF, caller_id="1")
        first = ami.sent("Originate")[0]
        l1, l2 = "Local/95551234@default-00000003;1", "Local/95551234@default-00000003;2"
        ami.push(Event="Newchannel", Channel=l1, ChannelState="0", CallerIDName=CALL_ID, Uniqueid=first["ChannelId"])
        ami.push(Event="Newchannel", Channel=l2, ChannelState="4", CallerIDName=CALL_ID, Uniqueid="9.2")
        ami.push(
            Event="DialEnd",
            Channel=l2,
            Uniqueid="9.2",
            CallerIDName=CALL_ID,
            DestChannel="SIP/carrier-00000004",
            DestUniqueid="9.3",
            DestCallerIDName=CALL_ID,
            DialStatus="NOANSWER",
        )
        ami.push(
            Event="Hangup",
            Channel=l1,
            Uniqueid=first["ChannelId"],
            CallerIDName=CALL_ID,
            Cause="16",
            **{"Cause-txt": "Normal Clearing"},
        )
        await until(lambda: len(events) >= 2)
        # 2: an originate Asterisk could not even start (no channel events at all)
        other = "M0115103000000099999"
        await switch.originate(number="5550000", call_id=other, conference=CONF, caller_id="1")
        second = ami.sent("Originate")[1]
        ami.push(
            Event="OriginateResponse",
            ActionID=second["ActionID"],
            Response="Failure",
            Channel="Local/95550000@default",
            Reason="0",
            Uniqueid="<null>",
        )
        await until(lambda: len(events) >= 4)
        await switch.settle()
        assert [(e.kind, e.cause, e.channel.call_id) for e in events] == [
            (EventKind.NO_ANSWER, "NO ANSWER", CALL_ID),
            (EventKind.HANGUP, "NO ANSWER", CALL_ID),
            (EventKind.BUSY, "CHANUNAVAIL", other),
            (EventKind.HANGUP, "BUSY", other),
        ]
        assert events[0].channel.name == l1
        await switch.aclose()

    run(body)


def test_busy_far_end_reported_busy_in_asterisk_event_order() -> None:
    """Asterisk 22's order for a busy number: OriginateResponse Failure Reason 0, then the ;2 half's DialEnd BUSY,
    then the Hangups. The DialEnd decides (BUSY), not the earlier Reason 0 (CHANUNAVAIL)."""

    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami)
        await switch.originate(number="13125551002", call_id=CALL_ID, conference=CONF, caller_id="1", prefix="9")
        orig = ami.sent("Originate")[0]
        assert orig["Channel"] == "Local/913125551002@default"
        l1, l2 = "Local/913125551002@default-00000005;1", "Local/913125551002@default-00000005;2"
        ami.push(Event="Newchannel", Channel=l1, ChannelState="0", CallerIDName=CALL_ID, Uniqueid=orig["ChannelId"])
        ami.push(Event="Newchannel", Channel=l2, ChannelState="4", CallerIDName=CALL_ID, Uniqueid="9.2")
        ami.push(Event="OriginateResponse", ActionID=orig["ActionID"], Response="Failure",
                 Channel="Local/913125551002@default", Reason="0", Uniqueid="<null>", CallerIDName=CALL_ID)
        ami.push(Event="DialEnd", Channel=l2, Uniqueid="9.2", CallerIDName=CALL_ID,
                 DestChannel="SIP/carrier-00000006", DestUniqueid="9.3", DestCallerIDName=CALL_ID, DialStatus="BUSY")
        for name, uid in (("SIP/carrier-00000006", "9.3"), (l2, "9.2"), (l1, orig["ChannelId"])):
            ami.push(Event="Hangup", Channel=name, Uniqueid=uid, CallerIDName=CALL_ID, Cause="16",
                     **{"Cause-txt": "Normal Clearing"})
        await until(lambda: len(events) >= 2)
        await asyncio.sleep(0.05)
        await switch.settle()
        assert [(e.kind, e.cause, e.channel.name) for e in events] == [
            (EventKind.BUSY, "BUSY", l1), (EventKind.HANGUP, "BUSY", l1)]
        # without a DialEnd, the OriginateResponse reason is the fallback at the primary's Hangup
        other = "M0115103000000099998"
        await switch.originate(number="13125551003", call_id=other, conference=CONF, caller_id="1")
        orig = ami.sent("Originate")[1]
        l1 = "Local/913125551003@default-00000007;1"
        ami.push(Event="Newchannel", Channel=l1, ChannelState="0", CallerIDName=other, Uniqueid=orig["ChannelId"])
        ami.push(Event="OriginateResponse", ActionID=orig["ActionID"], Response="Failure",
                 Channel="Local/913125551003@default", Reason="0", Uniqueid="<null>", CallerIDName=other)
        await asyncio.sleep(0.05)
        assert len(events) == 2  # nothing decided before the Hangup
        ami.push(Event="Hangup", Channel=l1, Uniqueid=orig["ChannelId"], CallerIDName=other, Cause="0",
                 **{"Cause-txt": "Unknown"})
        await until(lambda: len(events) >= 4)
        await switch.settle()
        assert [(e.kind, e.cause) for e in events[2:]] == [(EventKind.BUSY, "CHANUNAVAIL"), (EventKind.HANGUP, "BUSY")]
        await switch.aclose()

    run(body)


def test_agent_phone_and_autodial_to_park() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, _ = await open_switch(ami, park_exten="8301", park_context="park")
        await switch.originate(
            number="1000", call_id="S260115103000" + CONF, conference=CONF, kind=ChannelKind.AGENT, timeout=60.0
        )
        await switch.originate(number="SIP/1001", call_id="S2", conference=CONF, kind=ChannelKind.AGENT)
        await switch.originate(number="5551234", call_id="V0115103000000000001", caller_id="3125551000")
        agent, agent2, auto = ami.sent("Originate")
        assert (agent["Channel"], agent["Exten"], agent["Timeout"]) == ("SIP/1000", CONF, "60000")
        assert agent["CallerID"] == f'"S260115103000{CONF}" <>'
        assert agent2["Channel"] == "SIP/1001"
        assert (auto["Channel"], auto["Context"], auto["Exten"]) == ("Local/95551234@default", "park", "8301")
        with pytest.raises(ValueError):
            await switch.originate(number="x", call_id="y", kind=ChannelKind.PLAYBACK)
        await switch.aclose()

    run(body)


def test_hangup_redirect_park() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami)
        await switch.hangup("SIP/carrier-00000002")
        await switch.hangup("SIP/carrier-00000003", cause="BUSY")
        await switch.hangup("SIP/odd-1", cause="SOMETHING")
        await switch.redirect("SIP/carrier-00000002", conference="8600052")
        await switch.redirect("SIP/carrier-00000002", park=True)
        assert [without_ids(a) for a in ami.sent("Hangup")] == [
            {"Action": "Hangup", "Channel": "SIP/carrier-00000002", "Cause": "16"},
            {"Action": "Hangup", "Channel": "SIP/carrier-00000003", "Cause": "17"},
            {"Action": "Hangup", "Channel": "SIP/odd-1"},
        ]
        assert [without_ids(a) for a in ami.sent("Redirect")] == [
            {
                "Action": "Redirect",
                "Channel": "SIP/carrier-00000002",
                "Context": "default",
                "Exten": "8600052",
                "Priority": "1",
            },
            {
                "Action": "Redirect",
                "Channel": "SIP/carrier-00000002",
                "Context": "default",
                "Exten": "8301",
                "Priority": "1",
            },
        ]
        await switch.redirect("SIP/carrier-00000002", exten="95551234")
        await switch.redirect("SIP/carrier-00000003", exten="8304", sounds=("vm-goodbye", "thanks"))
        assert [without_ids(a) for a in ami.sent("Redirect")][2:] == [
            {
                "Action": "Redirect",
                "Channel": "SIP/carrier-00000002",
                "Context": "default",
                "Exten": "95551234",
                "Priority": "1",
            },
            {
                "Action": "Redirect",
                "Channel": "SIP/carrier-00000003",
                "Context": "default",
                "Exten": "8304",
                "Priority": "1",
            },
        ]
        assert [without_ids(a) for a in ami.sent("Setvar")] == [
            {
                "Action": "Setvar",
                "Channel": "SIP/carrier-00000003",
                "Variable": "OPENAGC_SOUNDS",
                "Value": "vm-goodbye|thanks",
            }
        ]
        assert ami.names()[-2:] == ["Setvar", "Redirect"]
        with pytest.raises(ValueError):
            await switch.redirect("x", conference=CONF, park=True)
        with pytest.raises(ValueError):
            await switch.redirect("x", conference=CONF, exten="123")
        # unknown channel: a hangup is ignored, a redirect raises
        ami.errors.update(Hangup="No such channel", Redirect="Channel specified does not exist")
        await switch.hangup("SIP/gone-1")
        with pytest.raises(AsteriskError, match="does not exist"):
            await switch.redirect("SIP/gone-1", conference=CONF)
        await switch.settle()
        assert events == []
        await switch.aclose()

    run(body)


def test_send_dtmf_originates_upstream_dtmf_exten() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami)
        await switch.send_dtmf(CONF, "12#,*")
        orig = ami.sent("Originate")[0]
        assert without_ids(orig) == {
            "Action": "Originate",
            "Async": "true",
            "CallerID": "12#,*",
            "Channel": "Local/8500998@default",
            "Context": "default",
            "Exten": f"7{CONF}",
            "Priority": "1",
        }
        # the sender's own channel events produce nothing
        ami.push(
            Event="Newchannel",
            Channel="Local/8500998@default-00000009;1",
            ChannelState="0",
            CallerIDName="12#,*",
            Uniqueid=orig["ChannelId"],
        )
        ami.push(
            Event="Newstate",
            Channel="Local/8500998@default-00000009;1",
            ChannelState="6",
            CallerIDName="12#,*",
            Uniqueid=orig["ChannelId"],
        )
        ami.push(Event="Hangup", Channel="Local/8500998@default-00000009;1", Uniqueid=orig["ChannelId"], Cause="16")
        # a digit pressed by a party (Received) is reported; the Sent copy is not
        ami.push(
            Event="DTMFEnd",
            Channel="SIP/carrier-00000002",
            Uniqueid="1.5",
            CallerIDName=CALL_ID,
            CallerIDNum="5551234",
            ChannelState="6",
            Digit="5",
            DurationMs="120",
            Direction="Received",
        )
        ami.push(Event="DTMFEnd", Channel="SIP/1000-00000001", Uniqueid="1.1", Digit="5", Direction="Sent")
        await until(lambda: len(events) >= 2)
        await asyncio.sleep(0.05)
        await switch.settle()
        assert kinds(events) == [EventKind.DTMF, EventKind.DTMF]
        assert events[0].data == {"digits": "12#,*", "conference": CONF}
        assert events[1].data == {"digits": "5", "direction": "Received"}
        assert events[1].channel.name == "SIP/carrier-00000002" and events[1].channel.call_id == CALL_ID
        with pytest.raises(ValueError):
            await switch.send_dtmf(CONF, "12x")
        await switch.aclose()

    run(body)


def _answer_local(action: dict[str, str]) -> list[dict[str, str]]:
    """Fake Asterisk: a Local originate running an application comes up at once."""
    if "Application" not in action:
        return []
    base = action["Channel"].removesuffix("/n")
    name = f"{base}-0000000f;1"
    uid = action.get("ChannelId", "1768473000.50")
    cid = action["CallerID"].split('"')[1]
    return [
        {"Event": "Newchannel", "Channel": name, "ChannelState": "0", "CallerIDName": cid, "Uniqueid": uid},
        {"Event": "Newstate", "Channel": name, "ChannelState": "6", "CallerIDName": cid, "Uniqueid": uid},
        {
            "Event": "OriginateResponse",
            "ActionID": action["ActionID"],
            "Response": "Success",
            "Channel": name,
            "Reason": "4",
            "Uniqueid": uid,
            "CallerIDName": cid,
        },
    ]


def test_recording_mixmonitor() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami, recording_dir="/var/spool/asterisk/monitor/")
        rec = await switch.start_recording(CONF, "20260115-103000_1000")
        orig = ami.sent("Originate")[0]
        assert without_ids(orig) == {
            "Action": "Originate",
            "Application": "Wait",
            "Async": "true",
            "CallerID": f'"20260115-103000_1000" <{CONF}>',
            "Channel": f"Local/5{CONF}@default/n",
            "Data": "14400",
        }
        leg = f"Local/5{CONF}@default-0000000f;1"
        path = "/var/spool/asterisk/monitor/20260115-103000_1000.wav"
        assert [without_ids(a) for a in ami.sent("MixMonitor")] == [
            {"Action": "MixMonitor", "Channel": leg, "File": path}
        ]
        assert rec.path == path and rec.conference == CONF and rec.ended_epoch is None
        chans = await switch.channels()  # listed from the events, no CoreShowChannels since the login
        assert [(c.name, c.kind, c.conference) for c in chans] == [(leg, ChannelKind.RECORDING, CONF)]
        assert ami.names().count("CoreShowChannels") == 1
        with pytest.raises(AsteriskError, match="already recording"):
            await switch.start_recording(CONF, "20260115-103000_1000")

        done = await switch.stop_recording(CONF, "20260115-103000_1000")
        assert ami.names()[-2:] == ["StopMixMonitor", "Hangup"]
        assert without_ids(ami.sent("StopMixMonitor")[0]) == {"Action": "StopMixMonitor", "Channel": leg}
        assert without_ids(ami.sent("Hangup")[0]) == {"Action": "Hangup", "Channel": leg, "Cause": "16"}
        assert done.ended_epoch is not None and done.length_seconds == 0
        ami.push(Event="Hangup", Channel=leg, Uniqueid=orig["ChannelId"], Cause="16")
        await until(lambda: len(events) >= 3)
        await switch.settle()
        assert kinds(events) == [EventKind.RECORDING_STARTED, EventKind.RECORDING_STOPPED, EventKind.HANGUP]
        assert events[0].channel.kind == ChannelKind.RECORDING and events[0].channel.name == leg
        assert events[0].data == {"filename": "20260115-103000_1000", "path": path, "conference": CONF}
        assert events[1].data["length_seconds"] == "0"
        with pytest.raises(RecordingNotFound):
            await switch.stop_recording(CONF, "20260115-103000_1000")
        await switch.aclose()

    run(body, on_originate=_answer_local)


def test_recording_refused_hangs_leg_up() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, _ = await open_switch(ami, mixmonitor_options="b")
        with pytest.raises(AsteriskError, match="MixMonitor failed"):
            await switch.start_recording(CONF, "rec1")
        assert ami.sent("MixMonitor")[0]["Options"] == "b"
        assert ami.names()[-1] == "Hangup"
        await switch.aclose()

    run(body, on_originate=_answer_local, errors={"MixMonitor": "Could not start monitoring"})


def test_play_audio_finishes_or_is_stopped() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami)
        chan = await switch.play_audio(CONF, "hold_music", "PLAY0115103000")
        orig = ami.sent("Originate")[0]
        assert without_ids(orig) == {
            "Action": "Originate",
            "Application": "ControlPlayback",
            "Async": "true",
            "CallerID": f'"PLAY0115103000" <{CONF}>',
            "Channel": f"Local/{CONF}@default/n",
            "Data": "hold_music",
        }
        assert chan.name == f"Local/{CONF}@default-0000000f;1" and chan.kind == ChannelKind.PLAYBACK
        assert chan.state == ChannelState.UP and chan.number == "hold_music"
        for action in ("PAUSE", "PAUSE", "RESUME", "TOGGLE", "RESTART", "RESUME"):
            await switch.control_audio(chan.name, action)
        assert [without_ids(a) for a in ami.sent("ControlPlayback")] == [
            {"Action": "ControlPlayback", "Channel": chan.name, "Control": c}
            for c in ("pause", "pause", "pause", "restart")
        ]
        with pytest.raises(ValueError):
            await switch.control_audio(chan.name, "REWIND")
        ami.push(Event="Hangup", Channel=chan.name, Uniqueid=chan.uniqueid, Cause="16")
        await until(lambda: len(events) >= 2)

        second = await switch.play_audio(CONF, "beep", "PLAY2")
        await switch.hangup(second.name)
        ami.push(Event="Hangup", Channel=second.name, Uniqueid=second.uniqueid, Cause="16")
        await until(lambda: len(events) >= 3)
        await switch.settle()
        assert kinds(events) == [EventKind.PLAYBACK_FINISHED, EventKind.HANGUP, EventKind.HANGUP]
        assert events[0].data == {"sound": "hold_music"}
        assert events[2].channel.call_id == "PLAY2"
        await switch.aclose()

    run(body, on_originate=_answer_local)


LISTED_AT_LOGIN = [
    {"Channel": "SIP/carrier-00000002", "ChannelState": "6", "ChannelStateDesc": "Up", "CallerIDNum": "5551234",
     "CallerIDName": CALL_ID, "Context": "default", "Exten": "8600052", "Uniqueid": "1.2",
     "Application": "ConfBridge", "ApplicationData": "8600052"},
    {"Channel": "SIP/carrier-00000003", "ChannelState": "5", "CallerIDNum": "5550000",
     "CallerIDName": "V0115103000000000001", "Context": "default", "Exten": "8301", "Uniqueid": "1.3",
     "Application": "MusicOnHold", "ApplicationData": ""},
    {"Channel": f"Local/5{CONF}@default-0000000a;1", "ChannelState": "6", "CallerIDNum": CONF,
     "CallerIDName": "20260115-103000_1000", "Context": "default", "Exten": f"5{CONF}", "Uniqueid": "1.4",
     "Application": "Wait", "ApplicationData": "14400"},
]


def test_channels_listed_at_login_then_kept_by_events() -> None:
    """One CoreShowChannels at login (what an earlier process left: classified by the dialplan's names), then
    every change from events: no AMI round trip per listing."""

    async def body(ami: FakeAmi) -> None:
        switch, _ = await open_switch(ami)
        await switch.originate(number="1000", call_id="S1", conference=CONF, kind=ChannelKind.AGENT)
        orig = ami.sent("Originate")[0]
        ami.push(Event="Newchannel", Channel="SIP/1000-00000001", ChannelState="0", CallerIDName="S1",
                 CallerIDNum="", Uniqueid=orig["ChannelId"])
        ami.push(Event="Newstate", Channel="SIP/1000-00000001", ChannelState="6", CallerIDName="S1",
                 CallerIDNum="", Uniqueid=orig["ChannelId"])
        ami.push(Event="ConfbridgeJoin", Conference=CONF, Channel="SIP/1000-00000001", Uniqueid=orig["ChannelId"])
        await until(lambda: switch.table.get("SIP/1000-00000001") is not None
                    and switch.table.get("SIP/1000-00000001").conference == CONF)
        ami.push(Event="Hangup", Channel="SIP/carrier-00000002", Uniqueid="1.2", Cause="16")
        await until(lambda: switch.table.get("SIP/carrier-00000002") is None)
        chans = await switch.channels()
        assert sorted((c.name, c.call_id, c.kind, c.state, c.conference, c.parked) for c in chans) == [
            (f"Local/5{CONF}@default-0000000a;1", "20260115-103000_1000", ChannelKind.RECORDING, ChannelState.UP,
             CONF, False),
            ("SIP/1000-00000001", "S1", ChannelKind.AGENT, ChannelState.UP, CONF, False),
            ("SIP/carrier-00000003", "V0115103000000000001", ChannelKind.CUSTOMER, ChannelState.RINGING, None,
             True),
        ]
        assert ami.names().count("CoreShowChannels") == 1
        # the recording an earlier process started is stopped by conference and file name
        await switch.stop_recording(CONF, "20260115-103000_1000")
        assert [without_ids(a) for a in ami.sent("StopMixMonitor")] == [
            {"Action": "StopMixMonitor", "Channel": f"Local/5{CONF}@default-0000000a;1"}]
        await switch.aclose()

    run(body, channels=LISTED_AT_LOGIN)


def test_reconnect_reads_the_channels_again_and_announces_resync() -> None:
    """After the AMI connection drops (Asterisk restarted), the new login's channel list replaces the old one
    and RESYNC tells the engine to reconcile; tracked calls whose channels are gone are forgotten."""

    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami, reconnect_seconds=0)
        await switch.originate(number="1000", call_id="S1", conference=CONF, kind=ChannelKind.AGENT)
        orig = ami.sent("Originate")[0]
        ami.push(Event="Newchannel", Channel="SIP/1000-00000001", ChannelState="6", CallerIDName="S1",
                 CallerIDNum="", Uniqueid=orig["ChannelId"])
        await until(lambda: "SIP/1000-00000001" in switch._chans)
        ami.channels = []  # Asterisk restarted: nothing survived
        for writer in list(ami.writers):
            writer.close()
        await until(lambda: EventKind.RESYNC in kinds(events), timeout=5.0)
        assert ami.names().count("Login") == 2 and ami.names().count("CoreShowChannels") == 2
        assert await switch.channels() == [] and "SIP/1000-00000001" not in switch._chans
        await switch.aclose()

    run(body, channels=LISTED_AT_LOGIN)


def test_inbound_userevent_then_redirect_answers() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami)
        ami.push(
            Event="UserEvent",
            UserEvent="OpenAGCInbound",
            Channel="SIP/carrier-00000007",
            Uniqueid="1768473000.7",
            CallerIDNum="3125559999",
            CallerIDName="Y0115103000000000007",
            InGroup="SALESLINE",
        )
        await until(lambda: len(events) >= 1)
        await switch.redirect("SIP/carrier-00000007", conference=CONF)
        ami.push(
            Event="Hangup",
            Channel="SIP/carrier-00000007",
            Uniqueid="1768473000.7",
            Cause="16",
            **{"Cause-txt": "Normal Clearing"},
        )
        await until(lambda: len(events) >= 3)
        await switch.settle()
        assert kinds(events) == [EventKind.INBOUND, EventKind.ANSWERED, EventKind.HANGUP]
        assert events[0].data == {"ingroup": "SALESLINE", "number": "3125559999"}
        assert events[0].channel.call_id == "Y0115103000000000007"
        assert events[1].data == {"ingroup": "SALESLINE"} and events[1].channel.conference == CONF
        assert events[2].cause == "NORMAL_CLEARING"
        await switch.aclose()

    run(body)


def test_inbound_transfer_userevent_carries_the_transfer_exten() -> None:
    """The shipped dialplan announces an in-group transfer leg with Transfer: 1 and TransferExten (the
    `990009*GROUP*…` exten holding the lead), which the engine needs to queue the transfer, not a new caller."""

    async def body(ami: FakeAmi) -> None:
        switch, events = await open_switch(ami)
        exten = "990009*TEST_IN**12345**3125559999*1000*"
        ami.push(Event="UserEvent", UserEvent="OpenAGCInbound", Channel="Local/990009@default-00000008;2",
                 Uniqueid="1768473000.8", CallerIDNum="3125559999", CallerIDName="DC1768473000W12345W",
                 InGroup="TEST_IN", CallID="DC1768473000W12345W", TransferExten=exten, Transfer="1")
        ami.push(Event="UserEvent", UserEvent="OpenAGCInbound", Channel="SIP/carrier-00000009",
                 Uniqueid="1768473000.9", CallerIDNum="3125550000", CallerIDName="Y0115103000000000009",
                 InGroup="TEST_IN", CallID="Y0115103000000000009", TransferExten="", Transfer="")
        await until(lambda: len(events) >= 2)
        assert events[0].data == {"ingroup": "TEST_IN", "number": "3125559999", "transfer": "1", "exten": exten}
        assert events[1].data == {"ingroup": "TEST_IN", "number": "3125550000"}
        await switch.aclose()

    run(body)


def test_not_connected_raises() -> None:
    async def body(ami: FakeAmi) -> None:
        switch, _ = await open_switch(ami)
        await switch.aclose()
        with pytest.raises(AsteriskError, match="not connected"):
            await switch.hangup("SIP/x-1")

    run(body)


def test_engine_connects_the_adapter_named_by_the_ami_url() -> None:
    """`serve --switch asterisk --ami-url ami://…` logs in with the URL's account."""
    from openagc.api.app import Services
    from openagc.config import Settings
    from openagc.engine.runtime import _connect_asterisk

    async def body(ami: FakeAmi) -> None:
        settings = Settings(database="unused.db", switch="asterisk", ami_url=f"ami://cron:1234@127.0.0.1:{ami.port}")
        services = Services(settings=settings, db=None)  # type: ignore[arg-type]
        services.extra["server_ip"] = "10.10.10.15"
        switch = await _connect_asterisk(services)
        try:
            assert isinstance(switch, AsteriskSwitch) and switch.server_ip == "10.10.10.15"
            assert without_ids(ami.sent("Login")[0])["Username"] == "cron"
        finally:
            await switch.aclose()
        bad = Services(settings=Settings(database="unused.db", switch="asterisk", ami_url="http://x"), db=None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ami://"):
            await _connect_asterisk(bad)

    run(body)


def test_channels_version_moves_with_every_ami_event_and_redirect_and_not_on_listing() -> None:
    """The list is kept by AMI events (and a redirect's own bookkeeping): each moves `channels_version`, so the
    engine's mirror reads the list again; listing it, or sending actions that change nothing listed, does not."""

    async def body(ami: FakeAmi) -> None:
        switch, _ = await open_switch(ami)
        v0 = switch.channels_version()
        listed = await switch.channels()
        await switch.send_dtmf(CONF, "1")  # an action alone: nothing listed changes until its events arrive
        assert switch.channels_version() == v0 and await switch.channels() == listed
        await switch.originate(number="1000", call_id="S1", conference=CONF, kind=ChannelKind.AGENT)
        orig = ami.sent("Originate")[-1]
        ami.push(Event="Newchannel", Channel="SIP/1000-00000001", ChannelState="6", CallerIDName="S1",
                 CallerIDNum="", Uniqueid=orig["ChannelId"])
        await until(lambda: switch.table.get("SIP/1000-00000001") is not None)
        v1 = switch.channels_version()
        assert v1 > v0 and await switch.channels() != listed
        await switch.redirect("SIP/1000-00000001", park=True)  # parked at once in the adapter's bookkeeping
        assert switch.channels_version() > v1
        assert [c.parked for c in await switch.channels() if c.name == "SIP/1000-00000001"] == [True]
        await switch.aclose()

    run(body, channels=LISTED_AT_LOGIN)
