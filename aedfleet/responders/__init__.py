"""Nearby certified first-aiders texted when a cabinet is opened in an emergency
(docs/responders.md)."""
