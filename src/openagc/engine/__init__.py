"""The agent session engine: the server-side replacement of upstream's polling agent screen.

Modules, one concern each:

- ``runtime``  — wiring: ``routes(services)`` and ``start(services)`` (returns an async ``stop()``).
- ``session``  — the agent state machine (login, ready, pause, call start/end, dispo, logout).
- ``commands`` — one handler per ``vicidial_live_agents.external_*`` command column (claim, then act).
- ``routing``  — inbound queue delivery, the manual-dial queue, RATIO auto-dialing, switch events.
- ``watcher``  — wake-ups (bus) and the periodic sweep; per-agent serialisation.
- ``logs``     — agent/call/callback/manager log rows (upstream's accounting, written once).
- ``http``     — the agent-side JSON API under ``/agent/`` and its event stream.

The database is the truth: every decision is taken from the agent's ``vicidial_live_agents`` row (and
its ``vicidial_agent_log`` row) read inside the transaction that acts, so a restart or a second engine
process on the same database sees the same state.
"""
