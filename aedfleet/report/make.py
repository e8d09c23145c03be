"""From InfluxDB to a file: gather the figures, lay them out, write PDF or HTML."""

from __future__ import annotations

from pathlib import Path

from aedfleet.report import document, html, pdf
from aedfleet.report.figures import gather
from aedfleet.report.period import Month
from aedfleet.report.queries import Queries
from aedfleet.report.words import Lang


def make_report(
    influx_url: str,
    database: str,
    month: Month,
    *,
    district: str | None,
    out: Path,
    lang: Lang,
    now_ms: int,
) -> None:
    figures = gather(Queries(influx_url, database, district), month, district=district,
                     now_ms=now_ms)  # fmt: skip
    doc = document.build(figures, lang)
    if out.suffix.lower() == ".html":
        out.write_text(html.render(doc), encoding="utf-8")
    else:
        out.write_bytes(pdf.render(doc))
