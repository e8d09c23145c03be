"""The monthly readiness report: what a programme sends its funders, its health commission
and its branches, from the telemetry itself (`aedfleet report`)."""
