"""The "golden four minutes": which key places a ready, accessible AED covers right now, and
where the next AED should go (docs/coverage.md)."""
