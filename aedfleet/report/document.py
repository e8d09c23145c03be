"""The report as a sequence of blocks (headings, figures, tables, charts), with every number
formatted once: the HTML and the PDF both render this, so they always say the same."""

from __future__ import annotations

from typing import Final, NamedTuple

from aedfleet.report import charts
from aedfleet.report.figures import HOUR_MS, Report, Summary
from aedfleet.report.words import Lang, name_of, words

TARGET_PCT: Final = 95.0  # cabinets ready less than this share of the month: counted on page one


class Heading(NamedTuple):
    level: int  # 1: section (starts a page in the PDF), 2: subsection
    text: str


class Para(NamedTuple):
    text: str


class Table(NamedTuple):
    columns: list[str]
    rows: list[list[str]]
    widths: list[float]  # relative column widths


class Image(NamedTuple):
    png: bytes
    alt: str
    width: float  # fraction of the text width


Block = Heading | Para | Table | Image


class Document(NamedTuple):
    lang: Lang
    title: str
    subtitle: str
    blocks: list[Block]


def pct(value: float | None, w: dict[str, str]) -> str:
    return f"{value:.2f} %" if value is not None else w["not_available"]


def hours(ms: int) -> str:
    return f"{ms / HOUR_MS:.1f}"


def span(seconds: float | None, w: dict[str, str]) -> str:
    """12 s, 4.5 min, 3.2 h."""
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} {w['seconds']}"
    if seconds < 7200:
        return f"{seconds / 60:.1f} {w['minutes']}"
    return f"{seconds / 3600:.1f} {w['hours']}"


def _change(now: float | None, before: float | None, unit: str = "") -> str:
    if now is None or before is None:
        return "—"
    return f"{now - before:+.2f}{unit}" if unit else f"{now - before:+g}"


def build(report: Report, lang: Lang, *, cabinet_rows: int | None = None) -> Document:
    """The report's blocks; `cabinet_rows` limits the per-cabinet table to the worst ones
    (the PDF of a large fleet; the HTML lists every cabinet)."""
    w = words(lang)
    shown = report.cabinets[:cabinet_rows] if cabinet_rows is not None else report.cabinets
    month = report.month
    when = month.local(report.generated_ms).strftime("%Y-%m-%d %H:%M")
    scope = report.district or w["fleet"]
    blocks: list[Block] = []

    def time_of(ms: int | None) -> str:
        return month.local(ms).strftime("%m-%d %H:%M") if ms is not None else "—"

    # 1. summary
    s, p = report.summary, report.previous
    blocks += [
        Heading(1, w["summary"]),
        Table(["", ""], [
            [w["readiness_pct"], pct(s.readiness_pct, w)],
            [w["cabinets"], str(s.cabinets)],
            [w["uses"], str(s.uses)],
            [w["alerts"], str(s.alerts)],
            [w["median_sms"], span(s.median_first_sms_s, w)],
            [w["below_target"], str(sum(1 for c in report.cabinets
                                        if c.ready_pct is not None and c.ready_pct < TARGET_PCT))],
            [w["expiring_count"], str(len(report.expiring))],
            # COVERAGE: filled from the `coverage` measurement once aedfleet/coverage/ writes it
            [w["coverage"], pct(report.coverage_pct, w)],
        ], [3, 2]),
        Heading(2, w["since_last"]),
        Table(["", w["this_month"], w["last_month"], w["change"]],
              _comparison(s, p, w), [3, 2, 2, 2]),
    ]  # fmt: skip

    # 2. readiness
    blocks += [
        Heading(1, w["readiness"]),
        Image(charts.daily_readiness(report, w), w["daily_chart"], 1.0),
        Heading(2, w["per_cabinet"]),
        Table(
            [w["cabinet"], w["district"], w["ready"], w["offline_h"], w["in_use_h"],
             w["aed_missing"], w["expired"], w["temperature"], w["power"]],
            [[c.cabinet, c.district, pct(c.ready_pct, w).replace(" %", ""),
              hours(c.durations.offline), hours(c.durations.in_use),
              *(hours(c.cause_ms[k]) for k in ("aed_missing", "expired", "temperature", "power"))]
             for c in shown],
            [2.2, 1.6, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2],
        ),
        *([Para(w["worst_shown"].format(len(shown), len(report.cabinets)))]
          if len(shown) < len(report.cabinets) else []),
        Para(w["hours_note"]),
    ]  # fmt: skip

    # 3. uses
    blocks.append(Heading(1, w["uses_section"]))
    if report.uses:
        blocks.append(Table(
            [w["opened"], w["cabinet"], w["district"], w["aed_out"], w["first_sms"],
             w["acknowledged"], w["ready_again"], w["responders"]],
            [[time_of(u.opened_ms), u.cabinet, u.district, span(u.out_s, w),
              time_of(u.first_sms_ms), time_of(u.acknowledged_ms), time_of(u.ready_again_ms),
              # RESPONDERS: from the `responders` measurement once that feature lands
              str(u.responders) if u.responders is not None else w["not_available"]]
             for u in report.uses],
            [1.6, 1.6, 1.3, 1.1, 1.4, 1.4, 1.4, 1.2],
        ))  # fmt: skip
    else:
        blocks.append(Para(w["no_uses"]))
    blocks.append(Image(charts.uses_map(report, w), w["uses_map"], 0.8))

    # 4. alerts
    blocks += [
        Heading(1, w["alerts_section"]),
        Image(charts.alerts_by_rule(report, w, lang), w["alerts_section"], 0.75),
        Table([w["rule"], w["severity"], w["count"]],
              [[name_of(a.rule, lang), name_of(a.severity, lang), str(a.raised)]
               for a in report.alert_rows], [3, 2, 1]),
        Table(["", w["median"], w["p90"]], [
            [w["ack_time"], span(report.ack_s[0], w), span(report.ack_s[1], w)],
            [w["resolve_time"], span(report.resolve_s[0], w), span(report.resolve_s[1], w)],
        ], [3, 2, 2]),
        Heading(2, w["repeat_offenders"]),
        _or_none(Table([w["cabinet"], "", w["alerts"]],
                       [[c, n, str(k)] for c, n, k in report.repeat_offenders], [2, 4, 1]), w),
    ]  # fmt: skip

    # 5. maintenance ahead
    blocks += [
        Heading(1, w["maintenance"]),
        Heading(2, w["expiring"]),
        _or_none(Table(
            [w["district"], w["cabinet"], w["what"], w["expires"], w["days_left"]],
            [[e.district, e.cabinet, w[e.what], e.date,
              str(e.days) if e.days >= 0 else f"{w['expired_word']} ({-e.days} {w['days']})"]
             for e in report.expiring],
            [1.5, 1.6, 1.3, 1.4, 1.8],
        ), w),
        Heading(2, w["degrading"]),
        _or_none(Table([w["cabinet"], "", w["first_week"], w["last_week"]],
                       [[c, n, f"{a:.2f}", f"{b:.2f}"] for c, n, a, b in report.degrading],
                       [1.6, 3, 1.3, 1.3]), w),
    ]  # fmt: skip

    # 6. data quality
    blocks += [
        Heading(1, w["data_quality"]),
        Heading(2, w["gaps"]),
        _or_none(Table([w["cabinet"], "", w["messages"], w["fleet_median"]],
                       [[c, n, str(k), str(m)] for c, n, k, m in report.gaps],
                       [1.6, 3, 1.2, 1.2]), w),
        Heading(2, w["dead_letters"]),
        _or_none(Table([w["reason"], w["count"]],
                       [[r, str(n)] for r, n in report.dead_letters], [3, 1]), w),
        Heading(2, w["clock_skew"]),
        _or_none(Table([w["cabinet"], w["events"]],
                       [[c, str(n)] for c, n in report.unsynced], [3, 1]), w),
        Heading(2, w["weak"]),
        Para(f"{w['unknown_hours']}: {report.unknown_hours:.1f}"),
        Para(w["weak_note"]),
    ]  # fmt: skip
    last = month.last_day.isoformat()
    subtitle = (f"{w['period']} {month.first_day.isoformat()} {w['to']} {last} "
                f"({w['local_time']}) · {scope} · {w['generated']} {when}")  # fmt: skip
    return Document(lang, w["title"], subtitle, blocks)


def _or_none(table: Table, w: dict[str, str]) -> Block:
    return table if table.rows else Para(w["none"])


def _comparison(s: Summary, p: Summary, w: dict[str, str]) -> list[list[str]]:
    return [
        [w["readiness_pct"], pct(s.readiness_pct, w), pct(p.readiness_pct, w),
         _change(s.readiness_pct, p.readiness_pct, " %")],
        [w["cabinets"], str(s.cabinets), str(p.cabinets), _change(s.cabinets, p.cabinets)],
        [w["uses"], str(s.uses), str(p.uses), _change(s.uses, p.uses)],
        [w["alerts"], str(s.alerts), str(p.alerts), _change(s.alerts, p.alerts)],
    ]  # fmt: skip
