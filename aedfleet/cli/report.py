"""`aedfleet report`: the monthly readiness report, from InfluxDB, as PDF or HTML."""

from __future__ import annotations

import time
from pathlib import Path

import click


@click.command()
@click.option("--month", required=True, help="The month, like 2026-11 (the fleet's local time).")
@click.option("--district", default=None, help="One district only; default: the whole fleet.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="report.pdf or report.html (the suffix chooses).",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--influx-url",
    default="http://127.0.0.1:8086",
    show_default=True,
    envvar="AEDFLEET_INFLUX_URL",
    help="InfluxDB's HTTP API (env AEDFLEET_INFLUX_URL).",
)
@click.option("--database", default="aedfleet", show_default=True)
@click.option(
    "--utc-offset-minutes",
    type=int,
    default=480,
    show_default=True,
    help="The fleet's time zone: days and months count in local time (China Standard Time).",
)
def report(month: str, district: str | None, out: Path, lang: str, influx_url: str,
           database: str, utc_offset_minutes: int) -> None:  # fmt: skip
    """Write the monthly readiness report a programme sends its funders and health commission:
    readiness, uses, alerts, maintenance ahead and data quality, in Chinese or English.

    Example: aedfleet report --month 2026-11 --district Bincheng --out report.pdf
    """
    import httpx

    from aedfleet.influx_query import InfluxQLError
    from aedfleet.report.fonts import FontMissingError
    from aedfleet.report.make import make_report
    from aedfleet.report.period import Month

    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".html"):
        raise click.BadParameter("must end in .pdf or .html", param_hint="--out")
    try:
        period = Month.parse(month, utc_offset_minutes)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--month") from error
    try:
        make_report(influx_url, database, period, district=district, out=out,
                    lang="zh" if lang == "zh" else "en",
                    now_ms=time.time_ns() // 1_000_000)  # fmt: skip
    except httpx.HTTPError as error:
        raise click.ClickException(f"InfluxDB at {influx_url} did not answer: {error}") from error
    except (InfluxQLError, FontMissingError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {out}")
