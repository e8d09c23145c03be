"""The operators' HTTP endpoints on the collector: alerts, acknowledgement, silences,
readiness. `aedfleet alerts` is their command-line client."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from aiohttp import web

from collector.alerting import Alerting


class AckRequest(msgspec.Struct, forbid_unknown_fields=True):
    cabinet: str
    rule: str
    by: str


class SilenceRequest(msgspec.Struct, forbid_unknown_fields=True):
    cabinet: str
    minutes: int
    reason: str
    rule: str = ""


Body = TypeVar("Body", AckRequest, SilenceRequest)


async def _body(request: web.Request, kind: type[Body]) -> Body:
    try:
        return msgspec.json.decode(await request.read(), type=kind)
    except msgspec.DecodeError as error:
        raise web.HTTPBadRequest(text=f"bad request: {error}") from error


def add_alert_routes(app: web.Application, alerting: Alerting) -> None:
    async def list_alerts(_request: web.Request) -> web.Response:
        return web.json_response(alerting.active())

    async def acknowledge(request: web.Request) -> web.Response:
        ack = await _body(request, AckRequest)
        if not alerting.acknowledge(ack.cabinet, ack.rule, ack.by):
            raise web.HTTPNotFound(text=f"no firing {ack.rule} alert for {ack.cabinet}")
        return web.json_response({"acknowledged": True})

    async def silence(request: web.Request) -> web.Response:
        wanted = await _body(request, SilenceRequest)
        if wanted.minutes <= 0:
            raise web.HTTPBadRequest(text="minutes must be positive")
        alerting.silence(wanted.cabinet, wanted.rule, wanted.minutes, wanted.reason)
        return web.json_response({"silenced": True})

    async def readiness(_request: web.Request) -> web.Response:
        answer: dict[str, Any] = alerting.readiness()
        return web.json_response(answer)

    app.router.add_get("/alerts", list_alerts)
    app.router.add_post("/alerts/ack", acknowledge)
    app.router.add_post("/silences", silence)
    app.router.add_get("/readiness", readiness)
