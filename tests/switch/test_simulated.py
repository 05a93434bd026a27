"""The simulated PBX: scripts, conferences, park, DTMF, recordings, playback, event order (virtual time)."""

from __future__ import annotations

import asyncio
import re
import wave
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest

from openagc.clock import Clock
from openagc.switch.port import ChannelKind, ChannelState, EventKind, SwitchEvent, SwitchPort
from openagc.switch.simulated import (
    ChannelNotFound,
    CustomerScript,
    RealTimeScheduler,
    RecordingNotFound,
    SimulatedSwitch,
    SwitchError,
    VirtualScheduler,
)

START = datetime(2026, 1, 15, 10, 30, 0)
CONF = "8600051"
AGENT_PHONE = "SIP/1000"


def make(tmp_path: Path, **kwargs: object) -> SimulatedSwitch:
    """A switch on virtual time with a frozen clock at START."""
    clock = Clock()
    clock.freeze(START)
    kwargs.setdefault("seed", 7)
    return SimulatedSwitch(clock=clock, scheduler=VirtualScheduler(), recordings_dir=tmp_path,
                           **kwargs)  # type: ignore[arg-type]


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


def kinds(events: list[SwitchEvent], name: str | None = None) -> list[EventKind]:
    return [e.kind for e in events if name is None or e.channel.name == name]


async def agent_in_conference(sim: SimulatedSwitch) -> str:
    agent = await sim.originate(number=AGENT_PHONE, call_id=f"S260115103000{CONF}", conference=CONF,
                                kind=ChannelKind.AGENT)
    await sim.advance(sim.agent_ring_seconds)
    return agent.name


def test_is_a_switch_port(tmp_path: Path) -> None:
    assert isinstance(make(tmp_path), SwitchPort)


def test_agent_phone_rings_then_joins_its_conference(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path, agent_ring_seconds=1.0)
        ch = await sim.originate(number=AGENT_PHONE, call_id="S2601151030008600051", conference=CONF,
                                 kind=ChannelKind.AGENT)
        assert re.fullmatch(r"SIP/1000-[0-9a-f]{8}", ch.name)
        assert re.fullmatch(r"\d+\.\d+", ch.uniqueid)
        assert ch.uniqueid.split(".")[0] == str(int(START.timestamp()))
        assert ch.state == ChannelState.RINGING and ch.kind == ChannelKind.AGENT
        await sim.advance(0.5)
        assert sim.channel(ch.name).state == ChannelState.RINGING  # type: ignore[union-attr]
        assert sim.conference_members(CONF) == []
        await sim.advance(0.5)
        up = sim.channel(ch.name)
        assert up is not None and up.state == ChannelState.UP and up.conference == CONF
        assert [c.name for c in sim.conference_members(CONF)] == [ch.name]
        assert kinds(sim.events) == [EventKind.RINGING, EventKind.ANSWERED]
        assert sim.find(call_id="S2601151030008600051") == up
        assert await sim.channels() == [up]
        # virtual time moved the frozen clock with it
        assert sim.clock.epoch() == int(START.timestamp()) + 1

    run(body)


def test_local_agent_phone_name(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path)
        ch = await sim.originate(number="Local/8300@default", call_id="S1", conference=CONF,
                                 kind=ChannelKind.AGENT)
        assert re.fullmatch(r"Local/8300@default-[0-9a-f]{8};1", ch.name)

    run(body)


def test_dial_string_and_an_answer_without_conference_waits_parked(tmp_path: Path) -> None:
    """As Asterisk: the Originate's Channel is the dial pattern with the prefix once; a call answered without a
    conference sits in the park exten until redirected (nobody bridges it)."""

    async def body() -> None:
        sim = make(tmp_path, scripts={"13125551234": CustomerScript.answers(ring=2.0, talk=None)})
        ch = await sim.originate(number="13125551234", call_id="V0115103000000000001", caller_id="1", prefix="7")
        await sim.originate(number="13125550000", call_id="M0115103000000000002", conference=CONF)
        assert [(o.dial, o.exten) for o in sim.originates] == [
            ("Local/713125551234@default", "8301"), ("Local/913125550000@default", CONF)]
        await sim.advance(3)
        held = sim.channel(ch.name)
        assert held is not None and held.state == ChannelState.UP and held.parked and held.conference is None
        assert sim.parked() == [held]
        await sim.redirect(ch.name, conference=CONF)
        moved = sim.channel(ch.name)
        assert moved is not None and moved.conference == CONF and not moved.parked

    run(body)


def test_customer_answers_talks_and_hangs_up(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path, scripts={"3125551234": CustomerScript.answers(ring=3.0, talk=10.0)})
        agent = await agent_in_conference(sim)
        call_id = "M0115103000000012345"
        ch = await sim.originate(number="3125551234", call_id=call_id, conference=CONF)
        assert re.fullmatch(r"SIP/carrier-[0-9a-f]{8}", ch.name)
        assert ch.kind == ChannelKind.CUSTOMER and ch.number == "3125551234"
        await sim.advance(2.9)
        assert sim.channel(ch.name).state == ChannelState.RINGING  # type: ignore[union-attr]
        await sim.advance(0.1)
        assert sim.find(call_id=call_id).state == ChannelState.UP  # type: ignore[union-attr]
        assert [c.name for c in sim.conference_members(CONF)] == [agent, ch.name]
        await sim.advance(9.9)
        assert sim.channel(ch.name) is not None
        await sim.advance(0.1)
        assert sim.channel(ch.name) is None
        assert kinds(sim.events, ch.name) == [EventKind.RINGING, EventKind.ANSWERED, EventKind.HANGUP]
        assert sim.events[-1].cause == "NORMAL_CLEARING"
        assert sim.events[-1].channel.state == ChannelState.DOWN
        # the last customer left: the agent's phone stays in its conference, nothing else happens
        assert [c.name for c in sim.conference_members(CONF)] == [agent]
        assert sim.channel(agent).state == ChannelState.UP  # type: ignore[union-attr]

    run(body)


def test_busy_and_no_answer(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path, scripts={"5550001": CustomerScript.always_busy(after=1.0),
                                      "5550002": CustomerScript.never_answers(),
                                      "5550003": CustomerScript.answers(ring=40.0)})
        busy = await sim.originate(number="95550001", call_id="M1", conference=CONF)  # prefix: suffix match
        silent = await sim.originate(number="5550002", call_id="M2", conference=CONF, timeout=20.0)
        slow = await sim.originate(number="5550003", call_id="M3", conference=CONF, timeout=30.0)
        await sim.advance(1.0)
        assert sim.channel(busy.name) is None
        assert kinds(sim.events, busy.name) == [EventKind.RINGING, EventKind.BUSY, EventKind.HANGUP]
        assert [e.cause for e in sim.events if e.channel.name == busy.name][1:] == ["BUSY", "BUSY"]
        await sim.advance(18.9)
        assert sim.channel(silent.name) is not None
        await sim.advance(0.1)
        assert sim.channel(silent.name) is None
        assert kinds(sim.events, silent.name) == [EventKind.RINGING, EventKind.NO_ANSWER, EventKind.HANGUP]
        assert sim.events[-1].cause == "NO ANSWER"
        await sim.advance(10.0)  # rings longer than the originate timeout: no answer at the timeout
        assert kinds(sim.events, slow.name) == [EventKind.RINGING, EventKind.NO_ANSWER, EventKind.HANGUP]
        assert sim.conference_members(CONF) == []

    run(body)


def test_scripts_are_deterministic_under_a_seed(tmp_path: Path) -> None:
    script = CustomerScript(answer_probability=0.6, busy_probability=0.2, ring_seconds=(1.0, 9.0),
                            talk_seconds=(5.0, 60.0))

    async def timed(seed: int) -> list[tuple[str, str, str, float]]:
        sim = make(tmp_path, seed=seed, default_script=script)
        seen: list[tuple[str, str, str, float]] = []
        sim.subscribe(lambda e: seen.append((e.kind.value, e.channel.call_id, e.channel.name,
                                             round(sim.now(), 6))))
        for i in range(30):
            await sim.originate(number=f"312555{i:04d}", call_id=f"M{i:019d}", conference=CONF, timeout=8.0)
            await sim.advance(0.5)
        await sim.advance(120.0)
        assert sim.list_channels() == []
        return seen

    a, b, c = asyncio.run(timed(42)), asyncio.run(timed(42)), asyncio.run(timed(43))
    assert a == b  # same seed: same outcomes, same channels, same times
    assert a != c
    outcomes = {k for k, *_ in a}
    assert {"answered", "busy", "no_answer", "hangup"} <= outcomes


def test_inbound_waits_until_redirected_into_a_conference(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path)
        agent = await agent_in_conference(sim)
        ch = sim.inject_inbound("3125550000", "SALESLINE", talk_seconds=30.0)
        assert ch.state == ChannelState.RINGING and ch.kind == ChannelKind.CUSTOMER
        assert len(ch.call_id) == 20 and ch.call_id.startswith("Y")
        await sim.settle()
        inbound = sim.events[-1]
        assert inbound.kind == EventKind.INBOUND
        assert inbound.data["ingroup"] == "SALESLINE" and inbound.data["number"] == "3125550000"
        await sim.advance(60.0)  # still waiting (patience from the default script is 120 s)
        assert sim.channel(ch.name).state == ChannelState.RINGING  # type: ignore[union-attr]
        await sim.redirect(ch.name, conference=CONF)
        up = sim.channel(ch.name)
        assert up is not None and up.state == ChannelState.UP and up.conference == CONF
        assert [c.name for c in sim.conference_members(CONF)] == [agent, ch.name]
        await sim.settle()
        assert sim.events[-1].kind == EventKind.ANSWERED
        assert sim.events[-1].data == {"ingroup": "SALESLINE"}
        await sim.advance(30.0)
        assert sim.channel(ch.name) is None
        assert kinds(sim.events, ch.name) == [EventKind.INBOUND, EventKind.ANSWERED, EventKind.HANGUP]

    run(body)


def test_inbound_caller_gives_up_after_patience(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path)
        ch = sim.inject_inbound("3125550000", "SALESLINE", patience_seconds=10.0)
        await sim.advance(9.9)
        assert sim.channel(ch.name) is not None
        await sim.advance(0.1)
        assert sim.channel(ch.name) is None
        last = sim.events[-1]
        assert last.kind == EventKind.HANGUP and last.data["abandoned"] == "1"
        with pytest.raises(ChannelNotFound):
            await sim.redirect(ch.name, conference=CONF)

    run(body)


def test_a_listener_can_route_inbound_calls(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path)

        async def engine(event: SwitchEvent) -> None:
            if event.kind == EventKind.INBOUND:
                await asyncio.sleep(0)
                await sim.redirect(event.channel.name, conference=CONF)

        sim.subscribe(engine)
        ch = sim.inject_inbound("3125550000", "SALESLINE", talk_seconds=5.0)
        await sim.settle()
        assert sim.channel(ch.name).conference == CONF  # type: ignore[union-attr]
        await sim.advance(5.0)
        assert kinds(sim.events) == [EventKind.INBOUND, EventKind.ANSWERED, EventKind.HANGUP]

    run(body)


def test_park_and_grab(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path, scripts={"5551234": CustomerScript.answers(ring=1.0, talk=100.0)})
        agent = await agent_in_conference(sim)
        ch = await sim.originate(number="5551234", call_id="M1", conference=CONF)
        await sim.advance(1.0)
        await sim.redirect(ch.name, park=True)
        held = sim.channel(ch.name)
        assert held is not None and held.parked and held.conference is None and held.state == ChannelState.UP
        assert [c.name for c in sim.conference_members(CONF)] == [agent]
        assert sim.parked() == [held]
        await sim.redirect(ch.name, conference=CONF)  # grab
        grabbed = sim.channel(ch.name)
        assert grabbed is not None and not grabbed.parked and grabbed.conference == CONF
        assert sim.parked() == []
        # park again; the customer hangs up while on hold (talk time keeps running)
        await sim.redirect(ch.name, park=True)
        await sim.advance(100.0)
        last = sim.events[-1]
        assert last.kind == EventKind.HANGUP and last.channel.parked and last.channel.name == ch.name
        assert sim.parked() == []

    run(body)


def test_redirect_errors(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path, scripts={"5551234": CustomerScript.answers(ring=5.0)})
        with pytest.raises(ChannelNotFound):
            await sim.redirect("SIP/nope-00000001", conference=CONF)
        ch = await sim.originate(number="5551234", call_id="M1", conference=CONF)
        with pytest.raises(SwitchError):
            await sim.redirect(ch.name, park=True)  # outbound, not answered yet
        with pytest.raises(ValueError):
            await sim.redirect(ch.name, conference=CONF, park=True)
        with pytest.raises(ValueError):
            await sim.redirect(ch.name)
        with pytest.raises(ValueError):
            await sim.originate(number="x", call_id="P", kind=ChannelKind.PLAYBACK)
        await sim.hangup("SIP/gone-00000009")  # unknown: ignored

    run(body)


def test_dtmf_log(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path)
        await sim.send_dtmf(CONF, "1,,2#")
        await sim.send_dtmf("8600052", "*9")
        assert [(d.conference, d.digits) for d in sim.dtmf_log] == [(CONF, "1,,2#"), ("8600052", "*9")]
        assert sim.dtmf_log[0].tones == "12#"
        assert sim.dtmf_log[0].duration_seconds == pytest.approx(3 * 0.25 + 2 * 1.0)  # `,` = one second
        await sim.settle()
        dtmf = [e for e in sim.events if e.kind == EventKind.DTMF]
        assert [e.data["digits"] for e in dtmf] == ["1,,2#", "*9"]
        assert dtmf[0].channel.name.startswith(f"Local/7{CONF}@default-")
        assert sim.list_channels() == []  # the sender is transient
        for bad in ("", "12x", "1 2"):
            with pytest.raises(ValueError):
                await sim.send_dtmf(CONF, bad)

    run(body)


def test_recording_writes_a_wav_of_the_recorded_length(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path)
        await agent_in_conference(sim)
        rec = await sim.start_recording(CONF, "20260115-103001_1000_8600051")
        assert rec.length_seconds is None
        assert rec.path == str(tmp_path / "20260115-103001_1000_8600051.wav")
        recorder = sim.find(kind=ChannelKind.RECORDING)
        assert recorder is not None and recorder.conference == CONF
        assert recorder.name.startswith(f"Local/5{CONF}@default-") and recorder.call_id == rec.filename
        with pytest.raises(SwitchError):
            await sim.start_recording(CONF, rec.filename)
        await sim.advance(12.0)
        done = await sim.stop_recording(CONF, rec.filename)
        assert done.length_seconds == 12
        assert done.started_epoch == START.timestamp() + 1.0  # the agent rang for 1 s first
        with wave.open(done.path, "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
            assert w.getnframes() == 12 * 8000
            assert w.getnframes() / w.getframerate() == done.length_seconds
            assert set(w.readframes(8000)) == {0}  # silence by default
        assert sim.find(kind=ChannelKind.RECORDING) is None
        await sim.settle()
        tail = sim.events[-3:]
        assert [e.kind for e in tail] == [EventKind.RECORDING_STARTED, EventKind.RECORDING_STOPPED,
                                          EventKind.HANGUP]
        assert tail[1].data["length_seconds"] == "12" and tail[1].data["path"] == done.path
        assert sim.recordings() == [done]
        with pytest.raises(RecordingNotFound):
            await sim.stop_recording(CONF, rec.filename)

    run(body)


def test_recording_tone_and_hangup_of_the_recording_channel(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path, recording_tone_hz=440.0)
        rec = await sim.start_recording(CONF, "../evil/name")
        assert Path(rec.path).parent == tmp_path  # no path traversal
        await sim.advance(3.4)
        recorder = sim.find(kind=ChannelKind.RECORDING)
        assert recorder is not None
        await sim.hangup(recorder.name)  # upstream stops recordings by hanging up the Local/5<conf> leg
        [done] = sim.recordings()
        assert done.length_seconds == 3
        with wave.open(done.path, "rb") as w:
            assert w.getnframes() == 3 * 8000
            assert any(w.readframes(100))  # a tone, not silence

    run(body)


def test_playback_finishes_or_is_hung_up(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path, playback_lengths={"hold_music": 8.0}, playback_seconds=5.0)
        music = await sim.play_audio(CONF, "hold_music", "PLAYRS20260115103000")
        assert music.kind == ChannelKind.PLAYBACK and music.conference == CONF
        assert music.state == ChannelState.UP
        assert [c.name for c in sim.conference_members(CONF)] == [music.name]
        await sim.advance(7.9)
        assert sim.channel(music.name) is not None
        await sim.advance(0.1)
        assert sim.channel(music.name) is None
        assert kinds(sim.events, music.name) == [EventKind.PLAYBACK_FINISHED, EventKind.HANGUP]
        assert sim.events[-2].data == {"sound": "hold_music"}

        beep = await sim.play_audio(CONF, "beep", "PLAYRS20260115103009")
        await sim.advance(2.0)
        await sim.hangup(beep.name)
        await sim.advance(10.0)
        assert kinds(sim.events, beep.name) == [EventKind.HANGUP]
        assert sim.conference_members(CONF) == []

    run(body)


def test_hangups_reach_sync_and_async_listeners_in_order(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path, default_script=CustomerScript.answers(ring=1.0, talk=None))
        sync_seen: list[tuple[EventKind, str, str]] = []
        async_seen: list[tuple[EventKind, str, str]] = []

        async def slow_listener(event: SwitchEvent) -> None:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            async_seen.append((event.kind, event.channel.name, event.cause))

        sim.subscribe(lambda e: sync_seen.append((e.kind, e.channel.name, e.cause)))
        unsubscribe = sim.subscribe(slow_listener)
        agent = await agent_in_conference(sim)
        a = await sim.originate(number="5550001", call_id="M1", conference=CONF)
        b = await sim.originate(number="5550002", call_id="M2", conference=CONF)
        await sim.advance(1.0)
        await sim.hangup(b.name, "NORMAL_CLEARING")
        await sim.hangup(a.name, "CALL_REJECTED")
        await sim.hangup(b.name)  # already gone: nothing
        await sim.settle()
        expected = [
            (EventKind.RINGING, agent, ""), (EventKind.ANSWERED, agent, ""),
            (EventKind.RINGING, a.name, ""), (EventKind.RINGING, b.name, ""),
            (EventKind.ANSWERED, a.name, ""), (EventKind.ANSWERED, b.name, ""),
            (EventKind.HANGUP, b.name, "NORMAL_CLEARING"), (EventKind.HANGUP, a.name, "CALL_REJECTED"),
        ]
        assert sync_seen == expected
        assert async_seen == expected
        assert [c.name for c in sim.conference_members(CONF)] == [agent]
        unsubscribe()
        await sim.hangup(agent)
        await sim.settle()
        assert sync_seen[-1] == (EventKind.HANGUP, agent, "NORMAL_CLEARING")
        assert len(async_seen) == len(expected)
        assert sim.list_channels() == []

    run(body)


def test_a_failing_listener_does_not_stop_delivery(tmp_path: Path) -> None:
    async def body() -> None:
        sim = make(tmp_path)
        seen: list[EventKind] = []

        def broken(event: SwitchEvent) -> None:
            raise RuntimeError("boom")

        sim.subscribe(broken)
        sim.subscribe(lambda e: seen.append(e.kind))
        await sim.play_audio(CONF, "beep", "P1")
        await sim.advance(10.0)
        assert seen == [EventKind.PLAYBACK_FINISHED, EventKind.HANGUP]

    run(body)


def test_virtual_constructor_and_aclose(tmp_path: Path) -> None:
    async def body() -> None:
        sim = SimulatedSwitch.virtual(seed=1, recordings_dir=tmp_path)
        assert isinstance(sim.scheduler, VirtualScheduler) and sim.clock.frozen
        await sim.start_recording(CONF, "open")
        await sim.advance(2.0)
        await sim.aclose()
        [done] = sim.recordings()
        assert done.length_seconds == 2 and Path(done.path).exists()

    run(body)


def test_real_time_mode_with_speed(tmp_path: Path) -> None:
    async def body() -> None:
        sim = SimulatedSwitch(scheduler=RealTimeScheduler(speed=200.0), recordings_dir=tmp_path,
                              default_script=CustomerScript.answers(ring=1.0, talk=2.0))
        ch = await sim.originate(number="5551234", call_id="M1", conference=CONF)
        rec = await sim.start_recording(CONF, "rt")
        await sim.advance(1.5)  # 7.5 ms of wall time
        assert sim.channel(ch.name).state == ChannelState.UP  # type: ignore[union-attr]
        await sim.advance(4.0)
        assert sim.channel(ch.name) is None
        done = await sim.stop_recording(CONF, rec.filename)
        assert done.length_seconds is not None and done.length_seconds >= 5  # simulated, not wall, seconds
        assert kinds(sim.events, ch.name) == [EventKind.RINGING, EventKind.ANSWERED, EventKind.HANGUP]

    run(body)


def test_what_the_switch_did_is_kept_bounded(tmp_path: Path) -> None:
    """A long-running simulation keeps its newest `history` entries of each log, not every one (L5)."""

    async def body() -> None:
        sim = SimulatedSwitch.virtual(seed=1, recordings_dir=tmp_path, history=3)
        for n in range(5):
            await sim.send_dtmf(CONF, str(n))
            await sim.originate(number=f"1312555000{n}", call_id=f"M{n}", conference=CONF)
        await sim.settle()
        assert [d.digits for d in sim.dtmf_log] == ["2", "3", "4"]
        assert [o.call_id for o in sim.originates] == ["M2", "M3", "M4"]
        assert len(sim.events) == 3

    run(body)


def test_channels_version_moves_whenever_the_channel_list_changes_and_only_then(tmp_path: Path) -> None:
    """The engine's mirror reads the list only when `channels_version` moved: every change of the list (a new
    channel, an answer, a join, a park, a grab, a recording leg, a playback, a hangup, a restart) moves it; a step that
    changes nothing listed leaves it."""

    async def body() -> None:
        sim = make(tmp_path, scripts={"5551234": CustomerScript.answers(ring=1.0, talk=30.0)})
        seen: list[tuple[int, list[object]]] = []

        async def look() -> None:
            seen.append((sim.channels_version(), await sim.channels()))

        await look()
        await agent_in_conference(sim)
        await look()
        ch = await sim.originate(number="5551234", call_id="M1", conference=None)
        await look()
        await sim.advance(1.0)  # answered into the park
        await look()
        await sim.redirect(ch.name, conference=CONF)
        await look()
        await sim.redirect(ch.name, park=True)
        await look()
        await sim.redirect(ch.name, conference=CONF)
        await look()
        await sim.start_recording(CONF, "rec1")
        await look()
        await sim.play_audio(CONF, "hello", "P1")
        await look()
        await sim.advance(0.5)
        await look()
        await sim.stop_recording(CONF, "rec1")
        await look()
        await sim.advance(40.0)  # the customer hangs up
        await look()
        await look()
        sim.restart()  # every channel gone at once, without a hangup
        await look()
        for (v1, listed1), (v2, listed2) in zip(seen, seen[1:], strict=False):
            if listed1 != listed2:
                assert v2 != v1, f"the list changed under the same version: {listed1} → {listed2}"
        changes = sum(1 for (_, a), (_, b) in zip(seen, seen[1:], strict=False) if a != b)
        assert changes >= 9  # the steps above did change the list
        assert seen[-2][0] == seen[-3][0]  # looking changes nothing
        assert seen[-1][1] == [] and seen[-2][1] != []

    run(body)
