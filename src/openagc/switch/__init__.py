"""The switch port (telephony the engine drives) and its adapters: simulated (default) and Asterisk AMI."""
