"""The collector's HTTP server: /healthz and /metrics for probes and scrapers, and the
operators' endpoints: alerts, acknowledgement, silences, readiness. `aedfleet alerts` is
their command-line client.

Every state-changing route needs a bearer token from `[http]` (or AEDFLEET_HTTP_TOKEN); whoever
holds it is recorded by the token's name. Every request must name one of the collector's own
hosts (a web page that rebinds its DNS name to this address is refused) and carry no foreign
Origin, and a body must be JSON (a browser cannot send that cross-site without asking first).
`/healthz` and `/metrics` stay open for probes and scrapers.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import urlsplit

import msgspec
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry

from aedfleet.alerts.shell import MAX_SILENCE_MINUTES, Alerting, OperatorError
from aedfleet.collector.config import ConfigError, HttpConfig
from aedfleet.collector.metrics import render

MIN_TOKEN_CHARS: Final = 16
DEFAULT_SILENCE_MINUTES: Final = 24 * 60
OPEN_PATHS: Final = frozenset({"/healthz", "/metrics"})
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
WHO: Final = "aedfleet.who"  # the token's name, set on the request by the guard

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AckRequest(msgspec.Struct, forbid_unknown_fields=True):
    cabinet: str
    rule: str
    false_alarm: bool = False  # the responders texted get a stand-down (docs/responders.md)


class SilenceRequest(msgspec.Struct, forbid_unknown_fields=True):
    cabinet: str
    reason: str
    minutes: Annotated[int, msgspec.Meta(ge=1, le=MAX_SILENCE_MINUTES)] = DEFAULT_SILENCE_MINUTES
    rule: str = ""


Body = TypeVar("Body", AckRequest, SilenceRequest)


class Access:
    """Pure: which token belongs to whom, and which host names are this collector's."""

    def __init__(self, tokens: Mapping[str, str], hosts: Iterable[str]) -> None:
        self._tokens = [(token.encode(), name) for name, token in tokens.items()]
        self.hosts = frozenset(h.lower() for h in hosts)

    def who(self, authorization: str) -> str | None:
        """The token's name for an `Authorization: Bearer <token>` header, else None."""
        scheme, _, offered = authorization.partition(" ")
        if scheme.lower() != "bearer" or not offered:
            return None
        found = None
        for token, name in self._tokens:  # compare with every token: no timing difference
            if hmac.compare_digest(token, offered.strip().encode()):
                found = name
        return found

    def host_allowed(self, host: str) -> bool:
        name = host.lower()
        if name.startswith("["):
            name = name[1:].partition("]")[0]
        elif name.count(":") == 1:
            name = name.partition(":")[0]
        return name in self.hosts


def access_from(config: HttpConfig) -> Access:
    """The collector's access rules; a weak token or a bad listen address fails at start-up."""
    tokens = dict(config.tokens)
    if config.token:
        tokens.setdefault(config.token_name, config.token)
    for name, token in tokens.items():
        if not _TOKEN_NAME.match(name):
            raise ConfigError(f"[http] token name {name!r}: 1-40 of A-Z a-z 0-9 . _ -")
        if len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"[http] token {name!r} is shorter than {MIN_TOKEN_CHARS} characters")
    host = config.listen.rpartition(":")[0].strip("[]")
    if config.listen and not host:
        raise ConfigError(
            f"[http] listen {config.listen!r} has no address, which would bind every "
            "interface: give one, e.g. 127.0.0.1:9108"
        )
    hosts = {"localhost", "127.0.0.1", "::1", *config.allowed_hosts}
    if host not in ("0.0.0.0", "::"):
        hosts.add(host)
    return Access(tokens, hosts)


def guard(access: Access) -> Middleware:
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS and request.method in SAFE_METHODS:
            return await handler(request)
        if not access.host_allowed(request.host):
            raise web.HTTPMisdirectedRequest(text="this collector does not serve that Host")
        origin = request.headers.get("Origin")
        if origin is not None and not access.host_allowed(urlsplit(origin).netloc):
            raise web.HTTPForbidden(text="requests from other origins are refused")
        if request.method in SAFE_METHODS:
            return await handler(request)
        who = access.who(request.headers.get("Authorization", ""))
        if who is None:
            raise web.HTTPUnauthorized(
                text="a bearer token is needed (aedfleet alerts --token, or AEDFLEET_HTTP_TOKEN)",
                headers={"WWW-Authenticate": 'Bearer realm="aedfleet"'},
            )
        if request.body_exists and request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="the body must be application/json")
        request[WHO] = who
        return await handler(request)

    return check


async def _body(request: web.Request, kind: type[Body]) -> Body:
    try:
        return msgspec.json.decode(await request.read(), type=kind)
    except msgspec.DecodeError as error:
        raise web.HTTPBadRequest(text=f"bad request: {error}") from error


def add_alert_routes(app: web.Application, alerting: Alerting, access: Access) -> None:
    app.middlewares.append(guard(access))

    async def list_alerts(_request: web.Request) -> web.Response:
        return web.json_response(alerting.active())

    async def acknowledge(request: web.Request) -> web.Response:
        ack = await _body(request, AckRequest)
        if not alerting.acknowledge(ack.cabinet, ack.rule, request[WHO],
                                    false_alarm=ack.false_alarm):  # fmt: skip
            raise web.HTTPNotFound(text=f"no firing {ack.rule} alert for {ack.cabinet}")
        return web.json_response({"acknowledged": True, "by": request[WHO]})

    async def silence(request: web.Request) -> web.Response:
        wanted = await _body(request, SilenceRequest)
        try:
            made = alerting.silence(
                wanted.cabinet, wanted.rule, wanted.minutes, wanted.reason, request[WHO]
            )
        except OperatorError as error:
            raise web.HTTPBadRequest(text=str(error)) from error
        return web.json_response({"silenced": True, **msgspec.to_builtins(made)})

    async def list_silences(_request: web.Request) -> web.Response:
        return web.json_response([msgspec.to_builtins(s) for s in alerting.silences()])

    async def unsilence(request: web.Request) -> web.Response:
        silence_id = request.match_info["silence_id"]
        if not alerting.unsilence(silence_id, request[WHO]):
            raise web.HTTPNotFound(text=f"no active silence {silence_id}")
        return web.json_response({"lifted": silence_id, "by": request[WHO]})

    async def readiness(_request: web.Request) -> web.Response:
        answer: dict[str, Any] = alerting.readiness()
        return web.json_response(answer)

    app.router.add_get("/alerts", list_alerts)
    app.router.add_post("/alerts/ack", acknowledge)
    app.router.add_get("/silences", list_silences)
    app.router.add_post("/silences", silence)
    app.router.add_delete("/silences/{silence_id}", unsilence)
    app.router.add_get("/readiness", readiness)


async def serve(
    listen: str,
    health: Callable[[], dict[str, Any]],
    registry: CollectorRegistry,
    alerting: Alerting,
    access: Access,
) -> web.AppRunner | None:
    """Serve on `listen` (host:port) until the runner is cleaned up; None when it is empty.
    /healthz answers 503 while `health()` says the broker is not connected."""
    if not listen:
        return None
    host, _, port = listen.rpartition(":")

    async def healthz(_request: web.Request) -> web.Response:
        answer = health()
        return web.json_response(answer, status=200 if answer["mqtt_subscribed"] else 503)

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=render(registry), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    add_alert_routes(app, alerting, access)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, int(port)).start()
    return runner
