"""The ops room's Grafana dashboards, built with grafana-foundation-sdk and written out as
Grafana provisioning (`aedfleet dashboards build`) or uploaded (`aedfleet dashboards push`)."""
