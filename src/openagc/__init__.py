"""openagc: the VICIdial Agent API, its agent session engine and switch port, in Python."""

__version__ = "0.1.0"

# The version line the Agent API reports (upstream's release whose behaviour we implement).
API_VERSION = "2.14-82"
API_BUILD = "250122-1010"
