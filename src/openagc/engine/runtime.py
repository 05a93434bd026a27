"""The engine's composition root: `routes(services)`, `start(services)` → async `stop()`, and `Engine`.

`Engine` owns what is per process: the switch adapter (the simulated PBX unless one is given in
`services.extra["switch"]`), per-agent locks, call timers, and the `Watcher`. Everything else is read from
the database inside the transaction that acts (`transact`), so engine state survives restarts and several
engine processes can share one database: they divide the agents through leases (`shards`), each one sweeps,
processes and times only its own, and one engine per server does the work that belongs to no agent.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.routing import BaseRoute

from openagc import metrics
from openagc.bus import AGENT_COMMAND
from openagc.engine import (
    agent_phone,
    command_outcomes,
    commands,
    context,
    events,
    manager,
    media,
    reconcile,
    remote,
    routing,
    session,
    transfer,
)
from openagc.engine.agent_phone import PhoneState
from openagc.engine.context import Ctx
from openagc.engine.logs import Moment
from openagc.engine.shards import Shards
from openagc.engine.topics import STATE_EVENT, agent_topic
from openagc.engine.watcher import Watcher
from openagc.integrations import stock_watcher
from openagc.store import command_records, executor
from openagc.store.group_commit import GroupCommit
from openagc.store.schema import (
    live_channels,
    live_sip_channels,
    parked_channels,
    phones,
    servers,
    system_settings,
    vicidial_agent_log,
    vicidial_agent_notifications,
    vicidial_auto_calls,
    vicidial_campaigns,
    vicidial_conferences,
    vicidial_list,
    vicidial_live_agents,
    vicidial_manual_dial_queue,
    vicidial_user_groups,
    vicidial_users,
)
from openagc.store.write_tail import Tail
from openagc.switch.port import Channel, ChannelKind, EventKind, SwitchEvent, SwitchPort

if TYPE_CHECKING:
    from openagc.services import Services

log = logging.getLogger(__name__)
VLA = vicidial_live_agents.c
CAMPAIGN = sa.select(vicidial_campaigns).where(vicidial_campaigns.c.campaign_id == sa.bindparam("campaign_id"))
_MQ, _CMD = vicidial_manual_dial_queue.c, command_records.CMD
#: The sweep's query (`Engine.pending_users`): the agents with a command column set, a manual dial queued, or a
#: queued command record created before `:due_ms` (one that may have expired). Built once: it runs on the executor.
PENDING = sa.select(VLA.user).where(
    sa.or_(
        VLA.external_hangup == "1",
        VLA.external_status != "",
        VLA.external_pause != "",
        VLA.external_dial != "",
        VLA.external_pause_code != "",
        VLA.external_update_fields == "1",
        sa.func.length(VLA.external_timer_action) > 3,
        VLA.manager_ingroup_set == "SET",
        VLA.external_lead_id > 0,
        VLA.external_dtmf != "",
        VLA.external_park != "",
        VLA.external_transferconf != "",
        VLA.external_recording == "STOP",
        VLA.external_recording.like("START%"),
        VLA.user.in_(sa.select(_MQ.user).where(_MQ.status == "READY")),
        VLA.user.in_(sa.select(_CMD.user).where(_CMD.state == command_records.QUEUED,
                                                 _CMD.created_ms < sa.bindparam("due_ms"))),
    )
)
#: Channels mirrored into `live_sip_channels` (phones and trunks of these technologies, as upstream's channel
#: daemon sorts them); Local, DAHDI and the rest go to `live_channels`.
SIP_TECHNOLOGIES = ("SIP/", "PJSIP/", "IAX2/")


def _sip_listed(channel: Channel) -> bool:
    """Whether the mirror lists `channel` in `live_sip_channels`: phones and trunk legs. A customer reached through
    a Local channel (the shipped dialplan's `9<number>` trunk) counts as the trunk leg upstream would list there, so
    `transfer_conference`'s tw_check sees a live 3-way leg on Asterisk as it does on a SIP trunk."""
    return channel.name.startswith(SIP_TECHNOLOGIES) or (
        channel.kind == ChannelKind.CUSTOMER and channel.name.startswith("Local/") and not channel.name.endswith(";2"))


class Engine:
    """One engine process: sessions are rows of `vicidial_live_agents`; this object only schedules them."""

    def __init__(self, services: Services, switch: SwitchPort) -> None:
        self.services = services
        self.switch = switch
        self.server_ip = getattr(switch, "server_ip", "") or "10.10.10.15"
        self.phones = phones
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.timers: dict[str, commands.Timer] = {}
        self.alt_dial: dict[str, str] = {}
        self.sessions: set[str] = set()
        self.transfers: dict[str, transfer.Transfer] = {}
        self._mirrored: dict[str, tuple[str, str, str, str]] = {}
        self._mirrored_version: int | None = None  # the switch's channels_version when `_mirrored` was written
        self.phone: dict[str, PhoneState] = {}  # per agent: see agent_phone
        self.phone_channel: dict[str, str] = {}  # per agent: the channel its phone is on
        self._phone_dials: dict[str, str] = {}  # call id of a phone originate → the conference it joins
        self._sync_lock = asyncio.Lock()
        self.watcher = Watcher(self)
        self.command_validity = command_records.parse_validity(services.settings.command_validity)
        self._deliver_lock = asyncio.Lock()
        # agents' transitions, committed together when they queue: at most `engine_transactions` transactions at
        # once (they queue on the event log's sequence row anyway, and unbounded they would hold every pooled
        # connection while they wait, starving the API in the same process)
        settings = services.settings
        self.commits = GroupCommit(services.db, lanes=settings.engine_transactions, most=settings.engine_group_commit,
                                   sizes=metrics.ENGINE_GROUP_COMMIT, name="engine batch")
        # logins commit one by one, as many at once as those transactions (batched, 2,500 logins took 37 % longer)
        self._logins = asyncio.Semaphore(max(1, settings.engine_transactions))
        self._release_events: Callable[[], Awaitable[None]] | None = None
        self.shards = Shards(services, self.server_ip, self._shards_moved)
        self._sessions_read = 0.0  # time.monotonic() of the last full read of this engine's sessions

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.shards.start()  # which agents are this engine's, before it acts on any
        # the engine appends the events of its transactions: no stock-VICIdial watcher derives them as well
        self._release_events = await stock_watcher.hold_for_engine(self.services)
        await self.rebuild()
        await reconcile.reconcile(self)
        await self.watcher.start()

    async def stop(self) -> None:
        await self.watcher.stop()
        await self.shards.stop()
        if self._release_events is not None:
            await self._release_events()
            self._release_events = None

    def reset(self) -> None:
        """Forget every in-memory session (tests reset the database under a running engine)."""
        self.sessions.clear()
        self.timers.clear()
        self.alt_dial.clear()
        self.transfers.clear()
        self._mirrored.clear()
        self._mirrored_version = None
        self.phone.clear()
        self.phone_channel.clear()
        self._phone_dials.clear()

    async def rebuild(self) -> None:
        """This engine's sessions come back from `vicidial_live_agents` (the database is the truth)."""
        self._sessions_read = time.monotonic()
        async with self.services.db.connect() as conn:
            self.sessions = {r[0] for r in await conn.execute(sa.select(VLA.user)) if self.owns(r[0])}

    # --- the agents this engine owns (`shards`) ---------------------------------------------------------------

    def owns(self, user: str) -> bool:
        """Whether `user`'s session is this engine's to sweep, process, time and reconcile."""
        return self.shards.owns(user)

    def serves_switch(self) -> bool:
        """Whether this engine does its server's work that belongs to no agent (see `shards`)."""
        return self.shards.serves_switch()

    def _own(self) -> list[str] | None:
        """The users to filter this engine's agent queries by; None when it owns every shard (no filter)."""
        return None if self.shards.everything else sorted(self.sessions)

    async def _shards_moved(self, gained: frozenset[int], lost: frozenset[int]) -> None:
        """Agents handed over: forget what this engine kept of those it lost; take over those it gained (their
        sessions, and their phones and calls reconciled with the switch, as a restart would)."""
        for user in [u for u in {*self.sessions, *self.timers, *self.transfers, *self.phone} if not self.owns(u)]:
            self.sessions.discard(user)
            self.timers.pop(user, None)
            self.transfers.pop(user, None)
            self.phone.pop(user, None)
            self.phone_channel.pop(user, None)
        if gained and self.watcher.loop is not None:  # at start, `start` rebuilds and reconciles itself
            await self.rebuild()
            await reconcile.reconcile(self)

    def moment(self) -> Moment:
        return Moment(self.services.clock.now().replace(microsecond=0))

    # --- reads ------------------------------------------------------------------------------------------

    async def campaign(self, conn: AsyncConnection, campaign_id: str, *, fresh: bool = False) -> Mapping[str, Any]:
        """The campaign's row, read-only (empty when there is none). Every transaction's context needs it: it is
        reused for up to `Settings.cache_seconds` (docs/compatibility.md); `fresh` reads it now (a login's checks)."""

        async def read() -> Mapping[str, Any]:
            return MappingProxyType(await executor.fetch_one(conn, CAMPAIGN, {"campaign_id": campaign_id}) or {})

        if fresh:
            return await read()
        return await self.services.cache.get(("campaign", campaign_id), read)

    async def campaign_allowed(self, conn: AsyncConnection, user_group: str, campaign_id: str) -> bool:
        allowed = (
            await conn.execute(
                sa.select(vicidial_user_groups.c.allowed_campaigns).where(
                    vicidial_user_groups.c.user_group == user_group
                )
            )
        ).scalar()
        text = allowed or ""
        return "-ALL-CAMPAIGNS-" in text or f" {campaign_id} " in text

    async def password_ok(self, conn: AsyncConnection, password: str, user: sa.RowMapping) -> bool:
        system = (await conn.execute(sa.select(system_settings).limit(1))).mappings().first() or {}
        if str(system.get("pass_hash_enabled") or "0") == "1":
            from openagc.passhash import verify_pass_hash  # the one hashing implementation

            return verify_pass_hash(
                password,
                user["pass_hash"] or "",
                system.get("pass_key") or "",
                int(system.get("pass_cost") or 2),
            )
        return bool(password) and password == user["pass"]

    async def state(self, user: str) -> dict[str, Any] | None:
        """The agent's state as the console sees it (read from the database)."""
        async with self.services.db.connect() as conn:
            row = (
                (await conn.execute(sa.select(vicidial_live_agents).where(VLA.user == user).limit(1)))
                .mappings()
                .first()
            )
            if row is None:
                return None
            val = (
                (
                    await conn.execute(
                        sa.select(vicidial_agent_log).where(
                            vicidial_agent_log.c.agent_log_id == int(row["agent_log_id"] or 0)
                        )
                    )
                )
                .mappings()
                .first()
            )
            queue = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(vicidial_manual_dial_queue)
                    .where(
                        vicidial_manual_dial_queue.c.user == user,
                        vicidial_manual_dial_queue.c.status == "READY",
                    )
                )
            ).scalar()
            call = await _call_facts(conn, dict(row), self.transfers.get(user)) if row["lead_id"] else None
        state = state_of(dict(row), dict(val) if val else None, int(queue or 0), self.timers.get(user),
                         self.phone.get(user, PhoneState.CONNECTING))
        state["call"] = call_view(state, dict(val) if val else None, call)
        return state

    # --- transitions ------------------------------------------------------------------------------------

    async def transact(self, user: str, action: Callable[[Ctx], Awaitable[Any]]) -> Any:
        """Run `action` on the agent's context in one transaction, then the switch ops and push events.

        Transitions that queue together commit together (`self.commits`: a group commit, its events appended once
        for the batch by its tail). A retryable conflict, or another transition of the batch failing, runs the
        transition again from `context.load` (a fresh context: the switch ops and events of a rolled-back attempt
        are dropped, and the agent's in-memory timer and transfer are put back as they were), so a command is
        applied once, after the final commit.
        """
        async with self.locks[user]:
            memory = self._memory(user)
            attempts = 0

            async def attempt(conn: AsyncConnection, tail: Tail) -> tuple[Ctx | None, Any]:
                nonlocal attempts
                attempts += 1
                if attempts > 1:
                    self._restore(user, memory)
                # the transition's instant: now that its transaction has begun (not when it started to wait for
                # the database), so no change it reads is older than the time it is recorded at
                ctx = await context.load(self, conn, user, self.moment())
                if ctx is None:
                    return None, None
                await events.begin(ctx)
                result = await action(ctx)
                await command_outcomes.flush(ctx)  # what became of each command, in the same transaction
                await events.append(ctx, tail)  # integrators' events: appended by the batch's tail, last
                return ctx, result

            try:
                ctx, result = await self.commits.run(attempt)
            except routing._Retry:
                return False
            if ctx is None:
                self.sessions.discard(user)
                return None
            await self.after_commit(ctx)
            return result

    def _memory(self, user: str) -> tuple[Any, Any]:
        """What a transaction may change of the agent outside the database: its call timer and its transfer."""
        return self.timers.get(user), copy.deepcopy(self.transfers.get(user))

    def _restore(self, user: str, memory: tuple[Any, Any]) -> None:
        for store, value in zip((self.timers, self.transfers), (memory[0], copy.deepcopy(memory[1])), strict=True):
            if value is None:
                store.pop(user, None)
            else:
                store[user] = value

    async def after_commit(self, ctx: Ctx) -> None:
        command_outcomes.publish(ctx)
        events.publish(ctx)
        for op in ctx.ops:
            try:
                await op()
            except Exception:  # a switch refusal must not undo committed bookkeeping
                log.exception("switch operation for %s failed", ctx.user)
        if any(e["event"] == "logged_out" for e in ctx.events):
            self.sessions.discard(ctx.user)
            self.timers.pop(ctx.user, None)
            self.phone.pop(ctx.user, None)
            self.phone_channel.pop(ctx.user, None)
        elif self.owns(ctx.user):
            self.sessions.add(ctx.user)
        else:  # a login here of another engine's agent: its owner carries the session on
            self.phone.pop(ctx.user, None)
            self.phone_channel.pop(ctx.user, None)
            self.services.bus.publish(AGENT_COMMAND, ctx.user)
        await self.publish(ctx.user, ctx.events)

    async def publish(self, user: str, events: list[dict[str, Any]]) -> None:
        """An agent's events to this process's observers (they are not forwarded to other processes): with none,
        the state is not read back."""
        if not self.services.bus.listened(STATE_EVENT, agent_topic(user)):
            return
        seen_state = False
        for event in events:
            if event["event"] == "state":
                if seen_state:
                    continue
                seen_state = True
                event = {"event": "state", "state": await self.state(user)}
            self.publish_event(user, event)

    def publish_event(self, user: str, event: dict[str, Any]) -> None:
        """To observers of the whole centre and to that agent's own streams (no stream filters others')."""
        self.services.bus.publish(STATE_EVENT, (user, event))
        self.services.bus.publish(agent_topic(user), (user, event))

    # --- the call operations at the session's transitions (`context.Host`) ------------------------------------

    async def talk_started(self, ctx: Ctx) -> None:
        await media.auto_record(ctx)

    async def call_ended(self, ctx: Ctx) -> None:
        await media.call_ended(ctx)

    async def call_over(self, ctx: Ctx) -> None:
        await transfer.call_over(ctx)

    async def process(self, user: str) -> None:
        """Evaluate the agent's command columns (a wake-up or the sweep); another engine's agent is only woken
        (its owner processes it)."""
        if not self.owns(user):
            self.services.bus.publish(AGENT_COMMAND, user)
            return
        await self.transact(user, commands.process)

    async def login(self, req: session.LoginRequest) -> tuple[str, str]:
        at = self.moment()
        async with self.locks[req.user]:
            async def body(conn: AsyncConnection, tail: Tail) -> tuple[Ctx, str]:
                ctx, token = await session.login(self, conn, at, req)
                events.begin_login(ctx)
                await events.append(ctx, tail)
                return ctx, token

            async with self._logins:
                ctx, token = await self.commits.run(body, alone=True)
            self.set_phone(req.user, PhoneState.CONNECTING, None)
            await self.after_commit(ctx)
        return token, ctx.conf

    # --- sweep ------------------------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Everything no notification announced: SQL-written commands, timers, queues, dialing, notices."""
        if time.monotonic() - self._sessions_read > self.shards.lease_s:  # logins no wake-up announced
            await self.rebuild()
        for user in await self.pending_users():
            await self.process(user)
        for user in list(self.timers):
            if self.owns(user):
                await self.process(user)
        if self.serves_switch():
            await manager.process(self)
        await self.deliver()
        if self.serves_switch():
            await self.dial_auto()
            await self.notify()
            await self.sync_channels()

    async def pending_users(self) -> list[str]:
        """This engine's agents with a command to look at. The query reads every row (no index serves its
        conditions); the rows it returns, few, are kept if this engine owns them."""
        soonest = min(self.command_validity.values()) * 1000  # a queued command that may be due to expire
        due_ms = int(self.services.clock.now().timestamp() * 1000) - soonest
        async with self.services.db.connect() as conn:
            rows = await executor.fetch_all(conn, PENDING, {"due_ms": due_ms})
        return [row["user"] for row in rows if self.owns(row["user"])]

    async def deliver(self) -> int:
        """Hand waiting calls to this engine's free agents until no pair is left (every engine delivers to its
        own; the claim of a call is a compare-and-set, so each call goes to one agent)."""
        delivered = 0
        async with self._deliver_lock:
            for _ in range(1000):
                async with self.services.db.connect() as conn:
                    calls = await routing.waiting_calls(conn)
                    pairs = []
                    for call in calls:
                        agent = await routing.free_agent(conn, call, self.phoneless(), self._own())
                        if agent is not None:
                            pairs.append((call, agent))
                            break
                if not pairs:
                    return delivered
                call, agent = pairs[0]
                ok = await self.transact(agent, lambda ctx, c=call: routing.claim_for_agent(ctx, c))
                if ok:
                    delivered += 1
        return delivered

    async def dial_auto(self) -> None:
        at = self.moment()
        originates = await self.services.db.transaction(lambda conn: routing.autodial(self, conn, at))
        for prefix, number, call_id, caller_id, timeout in originates:
            await self.originate(
                number=number, call_id=call_id, conference=None, caller_id=caller_id, timeout=timeout, prefix=prefix
            )

    async def notify(self) -> None:
        """Deliver due agent notifications (send_notification) to the agents logged in now, once."""
        N = vicidial_agent_notifications.c
        at = self.moment()
        async with self.services.db.connect() as conn:
            due = (
                (
                    await conn.execute(
                        sa.select(vicidial_agent_notifications).where(
                            N.notification_status.in_(("QUEUED", "READY")), N.notification_date <= at.now
                        )
                    )
                )
                .mappings()
                .all()
            )
        for n in due:
            async with self.services.db.begin() as conn:
                users = await self._recipients(conn, n["recipient_type"], n["recipient"] or "")
                if not users and (at.now - n["notification_date"]).total_seconds() < 60:
                    continue
                took = await conn.execute(
                    sa.update(vicidial_agent_notifications)
                    .where(
                        N.notification_id == n["notification_id"],
                        N.notification_status == n["notification_status"],
                    )
                    .values(notification_status="SENT" if users else "DEAD")
                )
                if took.rowcount != 1:
                    continue
            event = {
                "event": "notification",
                "notification_id": n["notification_id"],
                "text": n["notification_text"] or "",
                "size": n["text_size"],
                "font": n["text_font"],
                "weight": n["text_weight"],
                "color": n["text_color"],
                "confetti": n["show_confetti"] == "Y",
                "confetti_options": n["confetti_options"] or "",
            }
            for user in users:
                self.publish_event(user, dict(event))

    async def _recipients(self, conn: AsyncConnection, kind: str, recipient: str) -> list[str]:
        if kind == "USER":
            stmt = sa.select(VLA.user).where(VLA.user == recipient)
        elif kind == "USER_GROUP":
            stmt = (
                sa.select(VLA.user)
                .join(vicidial_users, vicidial_users.c.user == VLA.user)
                .where(vicidial_users.c.user_group == recipient)
            )
        elif kind == "CAMPAIGN":
            stmt = sa.select(VLA.user).where(VLA.campaign_id == recipient)
        else:
            return []
        return [r[0] for r in await conn.execute(stmt)]

    # --- switch -----------------------------------------------------------------------------------------

    async def originate(
        self, *, number: str, call_id: str, conference: str | None, caller_id: str, timeout: float, prefix: str
    ) -> None:
        """Dial a customer: `number` as they are dialled (phone code + number), `prefix` the campaign's."""
        await self.switch.originate(
            number=number,
            call_id=call_id,
            conference=conference,
            caller_id=caller_id,
            kind=ChannelKind.CUSTOMER,
            timeout=timeout,
            prefix=prefix,
        )

    async def hangup_call(self, channel: str, call_id: str) -> None:
        """Hang up a call: its channel when known (the switch takes a Local pair's `;2` half and the far leg down
        with it), else the call's channels — a Local `;1` alone when there is one."""
        names = [channel] if channel else [
            c.name for c in await self.switch.channels() if c.call_id == call_id and not c.name.endswith(";2")]
        if not channel and any(n.endswith(";1") for n in names):
            names = [n for n in names if n.endswith(";1")]
        for name in names:
            await self.switch.hangup(name)

    async def redirect(self, channel: str, conference: str) -> None:
        await self.switch.redirect(channel, conference=conference)

    async def call_agent_phone(self, extension: str, call_id: str, conference: str, caller_id: str = "") -> None:
        self._phone_dials[call_id] = conference
        await self.switch.originate(
            number=extension, call_id=call_id, conference=conference, caller_id=caller_id, kind=ChannelKind.AGENT,
            timeout=60.0,
        )

    async def hangup_agent_phone(self, conference: str, extension: str = "") -> None:
        """Hang up the agent's phone: the phone leg in its conference (also one an earlier process dialled)."""
        for chan in await self.switch.channels():
            if chan.conference == conference and (
                chan.kind == ChannelKind.AGENT or agent_phone.is_phone_of(extension, chan)
            ):
                await self.switch.hangup(chan.name)

    async def on_switch_event(self, event: SwitchEvent) -> None:
        """The listener/AGI/hangup-daemon part: call progress written back into the tables."""
        ch = event.channel
        await manager.on_switch_event(self, event)
        if event.kind == EventKind.RESYNC:
            await reconcile.reconcile(self)
            return
        if ch.kind == ChannelKind.AGENT:
            await self._on_phone_event(event)
            return
        if ch.kind != ChannelKind.CUSTOMER:
            return
        at = self.moment()
        if event.kind == EventKind.INBOUND:
            if not self.serves_switch():
                return  # the engine doing this server's shared work queues it; every engine delivers

            async def queue(conn: AsyncConnection) -> None:
                if event.data.get("transfer") and event.data.get("exten"):
                    await routing.queue_transfer(conn, at, self, ch, event.data["exten"])
                else:
                    await routing.queue_inbound(conn, at, self, ch, event.data.get("ingroup", ""))

            await self.services.db.transaction(queue)
            await self.deliver()
            return
        if ch.call_id.startswith(transfer.LEG_PREFIXES):
            await transfer.on_leg_event(self, event)
        if ch.call_id.startswith("V") and event.kind in (
            EventKind.ANSWERED,
            EventKind.BUSY,
            EventKind.NO_ANSWER,
        ):
            if not self.serves_switch():
                return
            await self.services.db.transaction(lambda conn: routing.auto_call_result(conn, at, event))
            if event.kind == EventKind.ANSWERED:
                await self.deliver()
            return
        user = await self._agent_on(ch.call_id)
        if (user and not self.owns(user)) or (not user and not self.serves_switch()):
            return  # another engine's agent, or a call of nobody's that the server's engine ends
        if event.kind == EventKind.ANSWERED and user:
            await self.transact(user, lambda ctx: session.connected(ctx, uniqueid=ch.uniqueid, channel=ch.name))
        elif event.kind in (EventKind.BUSY, EventKind.NO_ANSWER) and user:
            await self.transact(user, lambda ctx: self.dial_failed(ctx, event))
        elif event.kind == EventKind.HANGUP:
            if user and event.cause not in ("BUSY", "NO ANSWER"):
                await self.transact(user, lambda ctx: self.customer_left(ctx, ch.call_id))
            elif not user:
                await self.services.db.transaction(lambda conn: routing.abandon(conn, at, ch))

    # --- the agent's phone ----------------------------------------------------------------------------------

    def phoneless(self) -> set[str]:
        """Agents whose phone is lost: no call is routed to them."""
        return {user for user, state in self.phone.items() if state == PhoneState.LOST}

    def set_phone(self, user: str, state: PhoneState, channel: str | None) -> bool:
        """Record the agent's phone state; True if it changed."""
        if channel:
            self.phone_channel[user] = channel
        elif state == PhoneState.LOST:
            self.phone_channel.pop(user, None)
        changed = self.phone.get(user) != state
        self.phone[user] = state
        return changed

    async def publish_phone(self, user: str) -> None:
        """Tell the agent's streams (and the centre's) that its phone changed state."""
        state = self.phone.get(user, PhoneState.CONNECTING)
        self.publish_event(user, {"event": "phone", "phone": state.value,
                                   "channel": self.phone_channel.get(user, "")})
        await self.publish(user, [{"event": "state"}])

    async def _on_phone_event(self, event: SwitchEvent) -> None:
        """An agent phone answered (connected) or went away (lost: hung up, never answered, switch gone)."""
        ch = event.channel
        conference = ch.conference or self._phone_dials.get(ch.call_id)
        async with self.services.db.connect() as conn:
            rows = (await conn.execute(sa.select(VLA.user, VLA.extension, VLA.conf_exten).where(
                VLA.server_ip == self.server_ip,
                sa.or_(VLA.extension == agent_phone.extension_of(ch.name), VLA.conf_exten == (conference or "-")),
            ))).all()
        user = next((u for u, ext, conf in rows if agent_phone.is_phone_of(ext or "", ch)), None)
        user = user or next((u for u, _, conf in rows if str(conf) == conference), None)
        if user is None or not self.owns(user):
            return
        if event.kind == EventKind.ANSWERED:
            self._phone_dials.pop(ch.call_id, None)
            changed = self.set_phone(user, PhoneState.CONNECTED, ch.name)
        elif event.kind in (EventKind.HANGUP, EventKind.BUSY, EventKind.NO_ANSWER):
            current = self.phone_channel.get(user)
            if current and current != ch.name:
                return  # an older phone leg (the phone was called again since)
            self._phone_dials.pop(ch.call_id, None)
            changed = self.set_phone(user, PhoneState.LOST, None)
        else:
            return
        if changed:
            await self.publish_phone(user)

    async def _agent_on(self, call_id: str) -> str | None:
        async with self.services.db.connect() as conn:
            return (
                await conn.execute(sa.select(VLA.user).where(VLA.callerid == call_id, VLA.status == "INCALL").limit(1))
            ).scalar()

    @staticmethod
    async def dial_failed(ctx: Ctx, event: SwitchEvent) -> None:
        if ctx.vla.get("callerid") != event.channel.call_id or ctx.vla.get("uniqueid"):
            return
        await session.end_call(ctx, term_reason="NONE", hangup_channel=False)
        ctx.emit("dial_failed", reason=event.cause or event.kind.value)

    @staticmethod
    async def customer_left(ctx: Ctx, call_id: str) -> None:
        if ctx.vla.get("callerid") == call_id and ctx.vla["status"] == "INCALL":
            await media.customer_hung_up_parked(ctx)
            await session.customer_left(ctx)
            if remote.is_remote(ctx.vla):
                await remote.call_gone(ctx)

    # --- live channel tables ------------------------------------------------------------------------------

    async def rewrite_mirror(self) -> None:
        """Write this server's channel mirror anew (rows an earlier engine process left are dropped)."""
        async with self._sync_lock:
            async with self.services.db.begin() as conn:
                for table in (live_channels, live_sip_channels):
                    await conn.execute(sa.delete(table).where(table.c.server_ip == self.server_ip))
            self._mirrored, self._mirrored_version = {}, None
            await self._sync_channels()

    async def sync_channels(self) -> None:
        """Mirror the switch's channels into `live_sip_channels` (phones, outside parties) and `live_channels`
        (Local, players, recordings), as upstream's channel daemon does; release emptied 3-way conferences.
        The engine doing its server's shared work does it."""
        if not self.serves_switch():
            return
        async with self._sync_lock:
            await self._sync_channels()

    async def _sync_channels(self) -> None:
        version = self.switch.channels_version()
        if version == self._mirrored_version:  # the switch's channels are those mirrored last time
            return
        try:
            channels = await self.switch.channels()
        except Exception:  # an adapter without a channel list: nothing to mirror
            return
        now = {
            c.name: (
                c.call_id[:30],
                (c.conference or ("park" if c.parked else ""))[:100],
                c.number[:100],
                "live_sip_channels" if _sip_listed(c) else "live_channels",
            )
            for c in channels
        }
        if now == self._mirrored:
            self._mirrored_version = version
            return
        gone = [n for n, v in self._mirrored.items() if now.get(n) != v]
        new = [n for n, v in now.items() if self._mirrored.get(n) != v]
        async with self.services.db.begin() as conn:
            for name in gone:
                table = live_sip_channels if self._mirrored[name][3] == "live_sip_channels" else live_channels
                await conn.execute(
                    sa.delete(table).where(table.c.channel == name[:100], table.c.server_ip == self.server_ip)
                )
            for name in new:
                group, ext, data, which = now[name]
                table = live_sip_channels if which == "live_sip_channels" else live_channels
                await conn.execute(
                    sa.insert(table).values(
                        channel=name[:100],
                        server_ip=self.server_ip,
                        channel_group=group,
                        extension=ext,
                        channel_data=data,
                    )
                )
            C = vicidial_conferences.c
            rows = await conn.execute(
                sa.select(C.conf_exten).where(C.server_ip == self.server_ip, C.extension.like("3WAY\\_%", escape="\\"))
            )
            for (conf,) in rows.all():
                inside = [c for c in channels if c.conference == str(conf)]
                people = [c for c in inside if c.kind in (ChannelKind.AGENT, ChannelKind.CUSTOMER)]
                if len(people) <= 1:  # a recording or a player is nobody to talk to
                    for chan in inside:
                        await self.switch.hangup(chan.name)
                    await conn.execute(
                        sa.update(vicidial_conferences)
                        .where(C.conf_exten == conf, C.server_ip == self.server_ip)
                        .values(extension="", leave_3way="0")
                    )
        self._mirrored, self._mirrored_version = now, version


def state_of(vla: dict[str, Any], val: dict[str, Any] | None, queued: int, timer: Any,
             phone: PhoneState = PhoneState.CONNECTING) -> dict[str, Any]:
    """The JSON shape of an agent's state (the console and /agent/state use it)."""
    phase = context.phase_of(vla)
    command = vla.get("external_pause") or ""
    pending = ""
    if phase in ("INCALL", "QUEUE", "DISPO"):
        pending = command.split("!", 1)[0] if "!" in command or command == "LOGOUT" else ""
    return {
        "user": vla["user"],
        "status": vla["status"],
        "phase": phase,
        "pending": pending,
        "campaign_id": vla["campaign_id"],
        "conf_exten": vla["conf_exten"],
        "server_ip": vla["server_ip"],
        "lead_id": int(vla["lead_id"] or 0),
        "preview_lead_id": int(vla.get("preview_lead_id") or 0),
        "callerid": vla.get("callerid") or "",
        "uniqueid": vla.get("uniqueid") or "",
        "channel": vla.get("channel") or "",
        "comments": vla.get("comments") or "",
        "pause_code": vla.get("pause_code") or "",
        "ingroups": session.groups_of(vla.get("closer_campaigns")),
        "blended": vla.get("outbound_autodial") == "Y",
        "calls_today": int(vla.get("calls_today") or 0),
        "agent_log_id": int(vla.get("agent_log_id") or 0),
        "dead": bool(val and val.get("dead_epoch") and phase == "INCALL"),
        "manual_dial_queue": queued,
        "timer": None if timer is None else vars(timer),
        "last_state_change": str(vla.get("last_state_change") or ""),
        "phone": "remote" if remote.is_remote(vla) else phone.value,
        "recording_id": int(recording) if (recording := str(vla.get("external_recording") or "")).isdigit() else 0,
    }


async def _call_facts(conn: AsyncConnection, vla: dict[str, Any], xfer: Any) -> dict[str, Any]:
    """What the database and the transfer machine know of the agent's call: its `vicidial_auto_calls` row, the
    parked legs, the lead's number and the transfer in progress (for `call_view`)."""
    VAC, PC, VL = vicidial_auto_calls.c, parked_channels.c, vicidial_list.c
    callerid = vla.get("callerid") or ""
    auto = None
    if callerid:
        auto = (await conn.execute(sa.select(VAC.campaign_id, VAC.call_type, VAC.phone_number)
                                   .where(VAC.callerid == callerid).limit(1))).mappings().first()
    parked = [] if not callerid else list((await conn.execute(
        sa.select(PC.channel).where(PC.channel_group == callerid[:30]))).scalars())
    number = (await conn.execute(sa.select(VL.phone_number).where(VL.lead_id == int(vla["lead_id"] or 0)))).scalar()
    phase = getattr(getattr(xfer, "phase", None), "value", "IDLE")
    return {"auto": dict(auto) if auto else None, "parked": parked, "lead_number": number or "",
            "transfer": "" if phase == "IDLE" else phase, "transfer_number": getattr(xfer, "number", "") or ""}


def call_view(state: dict[str, Any], val: dict[str, Any] | None, facts: dict[str, Any] | None) -> dict[str, Any] | None:
    """The agent's call as the console shows it, or None without one: its stage (`arriving` while it is routed to
    the agent, `dialing` until a manual dial is answered, `connected`, `dead` once the customer left, `ended` in the
    disposition phase), direction, number, in-group or campaign, talk start, and the park/recording/transfer flags."""
    phase = state["phase"]
    if facts is None or phase not in ("QUEUE", "INCALL", "DISPO"):
        return None
    auto = facts["auto"] or {}
    inbound = state["comments"] in ("INBOUND", "CLOSER") or auto.get("call_type") == "IN"
    if phase == "QUEUE":
        stage = "arriving"
    elif phase == "DISPO":
        stage = "ended"
    elif not state["uniqueid"]:
        stage = "dialing"
    else:
        stage = "dead" if state["dead"] else "connected"
    talk = val.get("talk_epoch") if val and stage in ("connected", "dead") else None
    channel = state["channel"]
    parked = facts["parked"]
    return {
        "stage": stage,
        "direction": "inbound" if inbound else "outbound",
        "number": auto.get("phone_number") or facts["lead_number"],
        "group": (auto.get("campaign_id") or "") if inbound else state["campaign_id"],
        "talk_since": "" if talk is None else str(datetime.fromtimestamp(int(talk))),
        "parked": bool(channel) and channel in parked,
        "xfer_parked": any(c != channel for c in parked),
        "recording": (state.get("recording_id") or 0) > 0,
        "transfer": facts["transfer"] if stage in ("connected", "dead") else "",
        "transfer_number": facts["transfer_number"],
    }


# --- service hooks ------------------------------------------------------------------------------------------


def _make_switch(services: Services) -> SwitchPort:
    given = services.extra.get("switch")
    if given is not None:
        return given
    from openagc.switch.simulated import SimulatedSwitch  # the default adapter (embedded mode)

    server_ip = services.extra.get("server_ip") or "10.10.10.15"
    switch = SimulatedSwitch(
        server_ip=server_ip, clock=services.clock, speed=float(services.extra.get("switch_speed", 1.0))
    )
    services.extra["switch"] = switch
    return switch


async def _connect_asterisk(services: Services) -> SwitchPort:
    """The production adapter: log in to the AMI named by `settings.ami_url` (ami://user:secret@host:port)."""
    from urllib.parse import unquote, urlsplit

    from openagc.switch.asterisk import AsteriskSettings, connect

    url = urlsplit(services.settings.ami_url)
    if url.scheme != "ami" or not url.hostname or not url.username:
        raise ValueError("--switch asterisk needs --ami-url ami://user:secret@host:5038")
    return await connect(
        AsteriskSettings(
            host=url.hostname,
            port=url.port or 5038,
            username=unquote(url.username),
            secret=unquote(url.password or ""),
            server_ip=services.extra.get("server_ip") or url.hostname,
        ),
        clock=services.clock,
    )


async def _server_ip(services: Services) -> str | None:
    async with services.db.connect() as conn:
        return (
            await conn.execute(
                sa.select(servers.c.server_ip).where(servers.c.active == "Y").order_by(servers.c.server_id).limit(1)
            )
        ).scalar()


def routes(services: Services) -> list[BaseRoute]:
    from openagc.engine import demo_centre
    from openagc.engine.http import agent_routes

    return agent_routes(services) + demo_centre.routes(services)


async def start(services: Services) -> Callable[[], Awaitable[None]]:
    """Start the engine for this process; returns the coroutine function that stops it."""
    if "switch" not in services.extra and "server_ip" not in services.extra:
        try:
            services.extra["server_ip"] = await _server_ip(services)
        except Exception:  # no schema yet: the simulated switch takes its default address
            log.warning("could not read servers; using the default server_ip")
    if services.settings.switch == "asterisk" and "switch" not in services.extra:
        services.extra["switch"] = await _connect_asterisk(services)
    engine = Engine(services, _make_switch(services))
    services.extra["engine"] = engine
    await engine.start()
    from openagc.engine import demo_centre

    stop_demo = await demo_centre.start(services)  # demo callers, when the settings ask for them

    async def stop() -> None:
        await stop_demo()
        await engine.stop()
        if services.extra.get("engine") is engine:
            services.extra.pop("engine", None)

    return stop
