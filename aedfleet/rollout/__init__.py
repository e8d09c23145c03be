"""Staged over-the-air rollouts of a signed firmware release (docs/ota.md)."""
