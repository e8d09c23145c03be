"""One place where notifiers meet the network, so every provider treats errors alike."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from aedfleet.notify.messages import PermanentError, RetryableError, UnknownOutcomeError


async def request(
    session: aiohttp.ClientSession, method: str, url: str, *, timeout_s: float, **kwargs: Any
) -> str:
    """The response body of a 2xx answer; otherwise the error the status or failure means."""
    try:
        async with session.request(
            method, url, timeout=aiohttp.ClientTimeout(total=timeout_s), **kwargs
        ) as response:
            body = await response.text()
    except TimeoutError as error:
        raise UnknownOutcomeError(f"no answer within {timeout_s} s") from error
    except aiohttp.ServerDisconnectedError as error:
        raise UnknownOutcomeError("the provider hung up before answering") from error
    except aiohttp.ClientError as error:
        raise RetryableError(f"could not reach the provider: {error!r}") from error
    classify_status(response.status, body)
    return body


def classify_status(status: int, body: str) -> None:
    """Raise the right error for a provider's HTTP status; return for 2xx."""
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise RetryableError(f"provider answered {status}: {body[:200]}")
    raise PermanentError(f"provider answered {status}: {body[:200]}")


def check_url(url: str, what: str) -> str:
    """`url` if it is https://, or http:// to this host only (a local test server or proxy);
    otherwise ValueError: phone numbers and alert texts never cross a network in clear."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return url
    raise ValueError(f"{what} must be https:// (http:// only to this host), not {url!r}")
