"""The monthly report over a simulated month: five cabinets play November 2026 at 80,000
times real speed (the fleet boots two hours before the month), with a use early and a use late
in the month and pads that expire on the 21st. The report's figures are checked against what
the scenarios state, computed here from their timelines; the PDF is turned into PNG pages and
its text layer read back (poppler), and every chart it holds must show something."""

from __future__ import annotations

import datetime
import io
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner
from PIL import Image
from rich.console import Console

from aedfleet.cli import main
from aedfleet.report import document, pdf
from aedfleet.report.figures import Report, gather
from aedfleet.report.period import Month
from aedfleet.report.queries import Queries
from aedfleet.simulator.plan import PlannedCabinet
from aedfleet.simulator.scenario import duration_ms, load_library
from aedfleet.simulator.simulation import Outcome, simulate

pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.timeout(240)]

MONTH = Month.parse("2026-11")
LEAD_MS = 2 * 3_600_000  # the fleet boots and settles before the month begins
SCENARIOS = Path(__file__).parent / "scenarios"
TOLERANCE_PCT = 0.1


class SimulatedMonth(NamedTuple):
    outcome: Outcome
    report: Report
    pdf_zh: Path
    pdf_en: Path
    html: str


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> SimulatedMonth:
    folder = tmp_path_factory.mktemp("month")
    made: dict[str, object] = {}

    def report_on(outcome: Outcome, influx_url: str) -> None:
        now_ms = MONTH.end_ms + 3_600_000
        figures = gather(Queries(influx_url, outcome.database), MONTH, district=None,
                         now_ms=now_ms)  # fmt: skip
        made["report"] = figures
        for lang in ("zh", "en"):
            (folder / f"report-{lang}.pdf").write_bytes(pdf.render(document.build(figures, lang)))
        # the command itself, for the HTML
        result = CliRunner().invoke(main, [
            "report", "--month", str(MONTH), "--out", str(folder / "report.html"),
            "--lang", "en", "--influx-url", influx_url, "--database", outcome.database,
        ])  # fmt: skip
        assert result.exit_code == 0, result.output

    outcome = simulate(
        cabinets=5, scenarios="month_use_early,month_use_late,month_pads", seed=1,
        speed=80_000, workdir=folder / "sim", console=Console(file=io.StringIO()),
        start_ms=MONTH.start_ms - LEAD_MS, library=load_library(SCENARIOS),
        duration_ms=LEAD_MS + (MONTH.end_ms - MONTH.start_ms) + 3_600_000, then=report_on,
    )  # fmt: skip
    assert outcome.honoured == len(outcome.timelines), "the simulator fell behind"
    report = made["report"]
    assert isinstance(report, Report)
    return SimulatedMonth(outcome, report, folder / "report-zh.pdf", folder / "report-en.pdf",
                  (folder / "report.html").read_text(encoding="utf-8"))  # fmt: skip


def _step_ms(planned: PlannedCabinet, switch: str, value: bool) -> int:
    """When the scenario first sets `switch` to `value`, in ms since 1970."""
    at = next(a.at_ms for a in planned.actions if a.kind == "set" and a.name == switch
              and a.value is value)  # fmt: skip
    return MONTH.start_ms - LEAD_MS + at


def _unavailable_ms(planned: PlannedCabinet) -> int:
    """Not ready time in the month, from the scenario's timeline alone: from the door opening
    of a use to the end of the maintenance visit that restocks it; from the day after the pads'
    expiry date to the end of the month."""
    name = planned.scenario.name
    if name.startswith("month_use"):
        return _step_ms(planned, "maint", False) - _step_ms(planned, "door", True)
    if name == "month_pads":
        expiry = datetime.date.fromisoformat(planned.firmware["pad_exp"])
        return MONTH.end_ms - MONTH.ms_of(expiry + datetime.timedelta(days=1))
    return 0


def test_readiness_is_time_weighted_within_a_tenth_of_a_percent(month: SimulatedMonth) -> None:
    plan = month.outcome.plan
    month_ms = MONTH.end_ms - MONTH.start_ms
    expected = 100 * (1 - sum(_unavailable_ms(p) for p in plan) / (len(plan) * month_ms))
    assert month.report.summary.cabinets == len(plan)
    found = month.report.summary.readiness_pct
    assert found is not None and abs(found - expected) <= TOLERANCE_PCT, (found, expected)
    for planned in plan:  # and each cabinet's own figure
        row = next(c for c in month.report.cabinets if c.cabinet == planned.cabinet.id)
        own = 100 * (1 - _unavailable_ms(planned) / month_ms)
        assert row.ready_pct is not None and abs(row.ready_pct - own) <= 5 * TOLERANCE_PCT


def test_each_use_is_listed_once_at_its_time(month: SimulatedMonth) -> None:
    uses = [p for p in month.outcome.plan if p.scenario.name.startswith("month_use")]
    expected = sorted((_step_ms(p, "door", True), p.cabinet.id) for p in uses)
    assert [(u.opened_ms, u.cabinet) for u in month.report.uses] == expected
    for use in month.report.uses:
        planned = next(p for p in uses if p.cabinet.id == use.cabinet)
        out_s = (_step_ms(planned, "aed", True) - _step_ms(planned, "aed", False)) // 1000
        assert use.out_s == out_s == duration_ms("40m") // 1000
        assert use.first_sms_ms is not None and use.first_sms_ms >= use.opened_ms
        assert use.ready_again_ms is not None
        assert use.ready_again_ms >= _step_ms(planned, "maint", False)
        assert use.responders is None  # not available until the responders feature lands
    assert month.report.summary.uses == 2
    assert month.report.summary.median_first_sms_s is not None


def test_the_expiring_pads_are_listed(month: SimulatedMonth) -> None:
    pads = next(p for p in month.outcome.plan if p.scenario.name == "month_pads")
    listed = [(e.cabinet, e.what, e.date) for e in month.report.expiring]
    assert (pads.cabinet.id, "pads", pads.firmware["pad_exp"]) in listed
    # nothing else of the fleet is due within 90 days (the plan gives 400+ days)
    assert len(listed) == 1
    row = next(c for c in month.report.cabinets if c.cabinet == pads.cabinet.id)
    assert month.report.cabinets[0] == row  # worst first
    assert row.cause_ms["expired"] > 8 * 86_400_000


def test_coverage_comes_from_the_collectors_coverage_points(month: SimulatedMonth) -> None:
    # the simulated collector watches the Binzhou key places (docs/coverage.md)
    found = month.report.coverage_pct
    assert found is not None and 0.0 <= found <= 100.0
    assert "Weighted coverage of key places" in month.html


def _pages(path: Path, folder: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(folder / "page")],
                   check=True)  # fmt: skip
    return sorted(folder.glob("page-*.png"))


def test_the_pdf_pages_hold_the_headings_and_figures(month: SimulatedMonth, tmp_path: Path) -> None:
    pages = _pages(month.pdf_zh, tmp_path)
    info = subprocess.run(["pdfinfo", str(month.pdf_zh)], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert f"Pages:           {len(pages)}" in info
    assert 4 <= len(pages) <= 8
    text = subprocess.run(["pdftotext", "-layout", str(month.pdf_zh), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    for heading in ("AED 柜月度就绪报告", "概要", "就绪情况", "紧急使用", "告警", "维护计划",
                    "数据质量", "暂无数据"):  # fmt: skip
        assert heading in text, heading
    report = month.report
    assert f"{report.summary.readiness_pct:.2f} %" in text
    for use in report.uses:
        assert use.cabinet in text
    pads = next(e for e in report.expiring if e.what == "pads")
    assert pads.date in text
    english = subprocess.run(["pdftotext", str(month.pdf_en), "-"], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    for heading in ("Monthly AED readiness report", "Summary", "Maintenance ahead",
                    "Data quality", "Readiness (time-weighted)"):  # fmt: skip
        assert heading in english, heading


def test_no_chart_is_empty(month: SimulatedMonth, tmp_path: Path) -> None:
    subprocess.run(["pdfimages", "-png", str(month.pdf_zh), str(tmp_path / "chart")],
                   check=True)  # fmt: skip
    charts = sorted(tmp_path.glob("chart-*.png"))
    assert len(charts) == 3  # daily readiness, the map of uses, alerts by rule
    for chart in charts:
        grey = Image.open(chart).convert("L").resize((200, 150)).histogram()
        inked = sum(grey[:200])  # pixels not white or near it
        assert sum(1 for n in grey if n) > 20 and inked > 0.03 * 200 * 150, chart.name
