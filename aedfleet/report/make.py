"""From InfluxDB to a file: gather the figures, lay them out, write PDF or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aedfleet.report import document, html, pdf
from aedfleet.report.figures import gather
from aedfleet.report.period import Month
from aedfleet.report.queries import Queries
from aedfleet.report.words import Lang

# the PDF is forwarded and printed: a table of every cabinet of a large fleet would run to
# hundreds of pages, so it lists the worst ones (the HTML lists all)
PDF_CABINET_ROWS: Final = 100


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
    if out.suffix.lower() == ".html":
        out.write_text(html.render(document.build(figures, lang)), encoding="utf-8")
    else:
        doc = document.build(figures, lang, cabinet_rows=PDF_CABINET_ROWS)
        out.write_bytes(pdf.render(doc))
