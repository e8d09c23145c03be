"""One place where notifiers meet the network, so every provider treats errors alike."""

from __future__ import annotations

from typing import Any

import aiohttp

from collector.notify.base import RetryableError, UnknownOutcomeError, classify_status


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
