"""Tests of the switch port adapters."""
