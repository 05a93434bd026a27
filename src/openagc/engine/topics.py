"""The bus topics the engine publishes agents' events on, after each committed transition."""

from __future__ import annotations

STATE_EVENT = "agent.event"  # every agent's (user, event dict): observers of the whole centre


def agent_topic(user: str) -> str:
    """The bus topic carrying one agent's events only (what an agent's event stream listens to)."""
    return f"{STATE_EVENT}/{user}"
