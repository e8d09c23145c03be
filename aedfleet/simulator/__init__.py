"""Simulated cabinets running the firmware's own code, scenarios, and the demo fleet."""

from typing import Final

DEFAULT_SPEED: Final = 60.0  # simulated seconds per real second: an hour of scenarios in a minute
