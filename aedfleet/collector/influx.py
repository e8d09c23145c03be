"""InfluxDB over its v1 HTTP API (`/write` line protocol, `/query` InfluxQL), with the error policy.

1.x serves these natively, 2.x through its v1 compatibility API, 3.x with the token as the
Basic password. Policy: 2xx stored; 400 → bisect to find the lines InfluxDB refuses (rewriting
the good ones is harmless: a point with the same identity overwrites itself), return those to be
dead-lettered, never retry them; 404 database not found → create it and retry; 413 → split;
401/403, 5xx, timeouts and refused connections → InfluxUnavailableError: the caller spools
and backs off.
"""

from __future__ import annotations

import gzip
import io
import ipaddress
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from aedfleet.collector.basicauth import basic_auth

_CLIENT_ERRORS: Final = (400, 422)


def over_a_network(url: str) -> bool:
    """Whether InfluxDB at `url` is reached over a network: writes are gzipped for it. On
    loopback, compressing and decompressing only cost both processes CPU."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: it may be anywhere


def identifier(name: str) -> str:
    """An InfluxQL double-quoted identifier: a name can never end the statement early."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InfluxUnavailableError(Exception):
    """InfluxDB cannot take writes now; keep the batch and try later."""


class InfluxWriter:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        database: str,
        username: str = "",
        password: str = "",
        timeout_s: float = 10.0,
        create_database: bool = True,
        gzip_body: bool | None = None,
    ) -> None:
        """`gzip_body`: compress writes; by default only for InfluxDB over a network."""
        self._session = session
        self._url = url.rstrip("/")
        self._database = database
        self._auth = basic_auth(username, password) if username or password else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._create_database = create_database
        self._copies: tuple[str, tuple[str, ...]] | None = None
        self._gzip = over_a_network(url) if gzip_body is None else gzip_body

    def keep_longer(self, policy: str, measurements: frozenset[str]) -> None:
        """From now on write these measurements' points to `policy` as well (it exists)."""
        self._copies = (policy, tuple(f"{m}{end}" for m in sorted(measurements) for end in ", "))

    async def write(self, lines: list[str]) -> list[tuple[str, str]]:
        """Store `lines`; returns the (line, InfluxDB's reason) pairs it refuses for good."""
        refused = await self._write([line for line in lines if line], None)
        if self._copies is not None:
            policy, starts = self._copies
            # an entry may hold several lines; most are one telemetry line, passed over with
            # one prefix test (about 0.4 µs a line)
            copies = [line for chunk in lines if chunk.startswith(starts) or "\n" in chunk
                      for line in chunk.split("\n") if line.startswith(starts)]  # fmt: skip
            if refused:  # dead-lettered already
                bad = {part for chunk, _ in refused for part in chunk.split("\n")}
                copies = [line for line in copies if line not in bad]
            await self._write(copies, policy)
        return refused

    async def _write(self, lines: list[str], policy: str | None) -> list[tuple[str, str]]:
        if not lines:
            return []
        status, text = await self._post(lines, policy)
        if status == 404 and "database not found" in text and self._create_database:
            await self.query(f"CREATE DATABASE {identifier(self._database)}", method="POST")
            status, text = await self._post(lines, policy)
        if status < 300:
            return []
        if status in _CLIENT_ERRORS or status == 413:
            if len(lines) == 1:
                if status == 413:
                    return [(lines[0], "line larger than InfluxDB accepts")]
                return [(lines[0], _error_message(text))]
            middle = len(lines) // 2
            return await self._write(lines[:middle], policy) + await self._write(
                lines[middle:], policy
            )
        raise InfluxUnavailableError(f"InfluxDB answered {status}: {_error_message(text)}")

    async def _post(self, lines: list[str], policy: str | None) -> tuple[int, str]:
        body = ("\n".join(lines) + "\n").encode()  # `write` left out the empty lines
        headers = {"Content-Type": "text/plain", **self._auth}
        if self._gzip:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        params = {"db": self._database, "precision": "ms"}
        if policy is not None:
            params["rp"] = policy
        try:
            async with self._session.post(
                f"{self._url}/write",
                params=params,
                # a file-like body: aiohttp writes it in chunks, yielding to the loop between
                # them (raw bytes over 1 MiB, an uncompressed batch, would hold the loop)
                data=io.BytesIO(body),
                headers=headers,
                timeout=self._timeout,
            ) as response:
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise InfluxUnavailableError(f"InfluxDB unreachable: {error!r}") from error

    async def query(self, influxql: str, *, method: str = "GET") -> dict[str, Any]:
        """Run InfluxQL; raises InfluxUnavailableError when InfluxDB does not answer."""
        try:
            async with self._session.request(
                method,
                f"{self._url}/query",
                params={"db": self._database, "q": influxql, "epoch": "ms"},
                headers=self._auth,
                timeout=self._timeout,
            ) as response:
                document: dict[str, Any] = await response.json(content_type=None)
                if response.status >= 300:
                    raise InfluxUnavailableError(f"query failed ({response.status}): {document}")
                return document
        except (aiohttp.ClientError, TimeoutError) as error:
            raise InfluxUnavailableError(f"InfluxDB unreachable: {error!r}") from error

    async def ping(self) -> bool:
        try:
            async with self._session.get(
                f"{self._url}/ping", headers=self._auth, timeout=self._timeout
            ) as response:
                return response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False


def _error_message(text: str) -> str:
    return text.strip()[:300] or "no reason given"
