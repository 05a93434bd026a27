"""The agent session engine: the server-side replacement of upstream's polling agent screen.

Layers, bottom to top; a module imports only its own layer and those below (tests/engine/test_layers.py):

- foundations — ``logs`` (upstream's log rows), ``agent_phone``, ``states`` (the state machine and the transfer
  lock as a table), ``topics`` (bus topics), ``callers`` (simulated callers).
- session — ``context`` (``Ctx``, a transition in flight, and ``Host``, what it needs of the engine) and
  ``session`` (login, ready, pause, call start/end, dispo, logout).
- call operations — ``media``, ``transfer``, ``remote``, ``routing``, ``events`` (integrators' events).
- commands — ``commands`` (one handler per ``external_*`` column), ``command_outcomes``.
- runtime — ``runtime`` (``Engine``, the composition root implementing ``Host``), ``watcher``, ``manager``,
  ``reconcile``, ``http`` (the agent API), ``demo_centre``, ``simulate``.

The database is the truth: every decision is taken from the agent's ``vicidial_live_agents`` row (and
its ``vicidial_agent_log`` row) read inside the transaction that acts, so a restart or a second engine
process on the same database sees the same state.
"""
