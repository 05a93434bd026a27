"""The agent's web console: one page built on the agent-side API (`/agent/`) and its event stream."""
