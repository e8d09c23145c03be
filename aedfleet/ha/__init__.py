"""High availability: the collectors' leader lease on PostgreSQL (docs/ha.md)."""
