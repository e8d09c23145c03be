"""HTTP Basic authentication, for InfluxDB and the SMS providers alike."""

from __future__ import annotations

import base64


def basic_auth(username: str, password: str) -> dict[str, str]:
    """The Authorization header (aiohttp's BasicAuth helper is deprecated)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
