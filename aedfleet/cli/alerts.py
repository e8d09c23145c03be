"""`aedfleet alerts`: see, acknowledge and silence alerts on a running collector."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click


@click.group()
@click.pass_context
def alerts(ctx: click.Context) -> None:
    """See, acknowledge and silence alerts on a running collector. Run from the checkout while
    `make demo` runs, they find the demo's collector and token (.run/demo/aedfleet.env).

    Example: aedfleet alerts list --url http://127.0.0.1:9108
    """
    _demo_defaults(ctx)


def _demo_defaults(ctx: click.Context) -> None:
    """The running demo's address and token as defaults: flags and the environment still win."""
    from aedfleet.demo_env import DEMO_DIR, ENV_FILE, EnvFileError, read_env

    path = DEMO_DIR / ENV_FILE
    try:
        found = read_env(path)
    except EnvFileError as error:
        click.echo(f"warning: {error}", err=True)
        return
    if not found:
        return
    defaults = {"url": found.get("AEDFLEET_COLLECTOR_URL"),
                "token": found.get("AEDFLEET_HTTP_TOKEN")}  # fmt: skip
    given = {name: value for name, value in defaults.items() if value}
    ctx.default_map = {name: given for name in ("list", "ack", "silence", "silences",
                                                "unsilence")}  # fmt: skip
    click.echo(f"(the running demo's collector, from {path})", err=True)


_COLLECTOR_URL = click.option(
    "--url", default="http://127.0.0.1:9108", show_default=True, envvar="AEDFLEET_COLLECTOR_URL",
    help="The collector's HTTP address (its [http] listen).",
)  # fmt: skip
_TOKEN = click.option(
    "--token", default="", envvar="AEDFLEET_HTTP_TOKEN",
    help="The collector's API token (or AEDFLEET_HTTP_TOKEN); recorded by its name.",
)  # fmt: skip
_CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Take the token from the collector's TOML ([http] token) instead.",
)  # fmt: skip


def _token(token: str, config_path: Path | None) -> str:
    from aedfleet.collector.config import ConfigError, load_config

    if token:
        return token
    if config_path is not None:
        try:
            http = load_config(config_path, environ={}).http  # the environment came first
        except ConfigError as error:
            raise click.ClickException(str(error)) from error
        if http.token or http.tokens:
            return http.token or next(iter(http.tokens.values()))
    raise click.ClickException("give the collector's API token: --token, AEDFLEET_HTTP_TOKEN "
                               "or --config")  # fmt: skip


def _call(method: str, url: str, token: str = "", **kwargs: Any) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, url, timeout=10, headers=headers, **kwargs)
    except httpx.HTTPError as error:
        raise click.ClickException(f"collector not reachable at {url}: {error}") from error
    if response.status_code >= 300:
        raise click.ClickException(response.text.strip())
    return response.json()


@alerts.command("list")
@_COLLECTOR_URL
def alerts_list(url: str) -> None:
    """Active alerts, most severe first.

    Example: aedfleet alerts list
    """
    order = {"critical": 0, "high": 1, "warning": 2, "info": 3}
    active = sorted(
        _call("GET", f"{url}/alerts"), key=lambda a: (order[a["severity"]], a["since_ms"])
    )
    if not active:
        click.echo("no active alerts")
    for alert in active:
        click.echo(f"{alert['severity']:8s} {alert['state']:12s} {alert['cabinet_id']:12s} "
                   f"{alert['rule']:12s} {alert['summary']}")  # fmt: skip


@alerts.command("ack")
@click.argument("cabinet")
@click.argument("rule")
@click.option("--false-alarm", is_flag=True,
              help="No emergency: the responders texted get a short stand-down.")  # fmt: skip
@_COLLECTOR_URL
@_TOKEN
@_CONFIG
def alerts_ack(
    cabinet: str, rule: str, false_alarm: bool, url: str, token: str, config_path: Path | None
) -> None:
    """Acknowledge an alert: its repeats stop. The audit trail records the token's name.

    Example: AEDFLEET_HTTP_TOKEN=... aedfleet alerts ack bz-bc-001 opened --false-alarm
    """
    answer = _call("POST", f"{url}/alerts/ack", _token(token, config_path),
                   json={"cabinet": cabinet, "rule": rule, "false_alarm": false_alarm})  # fmt: skip
    click.echo(f"acknowledged {rule} on {cabinet} as {answer['by']}")


@alerts.command("silence")
@click.argument("cabinet")
@click.option("--rule", default="", help="Only this rule (default: every rule).")
@click.option("--minutes", type=click.IntRange(1, 7 * 24 * 60), default=24 * 60,
              show_default=True, help="At most 7 days.")  # fmt: skip
@click.option("--reason", required=True)
@_COLLECTOR_URL
@_TOKEN
@_CONFIG
def alerts_silence(cabinet: str, rule: str, minutes: int, reason: str, url: str, token: str,
                   config_path: Path | None) -> None:  # fmt: skip
    """Hold back notifications for a cabinet for a while (maintenance); alerts are still kept.

    Example: aedfleet alerts silence bz-bc-001 --minutes 120 --reason "pad replacement"
    """
    wanted = {"cabinet": cabinet, "rule": rule, "minutes": minutes, "reason": reason}
    made = _call("POST", f"{url}/silences", _token(token, config_path), json=wanted)
    click.echo(f"silence {made['id']}: {cabinet} {rule or 'all rules'} for {minutes} min")


@alerts.command("silences")
@_COLLECTOR_URL
def alerts_silences(url: str) -> None:
    """The silences in force, with the id `unsilence` takes.

    Example: aedfleet alerts silences
    """
    active = _call("GET", f"{url}/silences")
    if not active:
        click.echo("no silences")
    for s in active:
        until = time.strftime("%Y-%m-%d %H:%M", time.localtime(s["until_ms"] / 1000))
        click.echo(f"{s['id']}  {s['cabinet_id']:12s} {s['rule'] or 'all':12s} until {until}"
                   f"  by {s['by']}: {s['reason']!a}")  # fmt: skip


@alerts.command("unsilence")
@click.argument("silence_id")
@_COLLECTOR_URL
@_TOKEN
@_CONFIG
def alerts_unsilence(silence_id: str, url: str, token: str, config_path: Path | None) -> None:
    """Lift a silence before it ends.

    Example: aedfleet alerts unsilence 3f2a9c01d4e5
    """
    _call("DELETE", f"{url}/silences/{silence_id}", _token(token, config_path))
    click.echo(f"lifted silence {silence_id}")
