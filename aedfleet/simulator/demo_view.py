"""What the demo shows, as lines that fit the terminal: from 80 x 24 up, each section gets the
rows it needs most (a bigger window shows more: the districts, more alerts, more SMS); a
smaller one is asked to widen. Pure: a snapshot of the ops room in, lines of text out."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Final, NamedTuple

from rich.text import Text

MIN_WIDTH: Final = 80
MIN_HEIGHT: Final = 24
STATES: Final = ("available", "in_use", "not_ready", "offline")
COLOURS: Final = {"available": "green", "in_use": "bold red", "not_ready": "yellow",
                  "offline": "grey50"}  # fmt: skip
SEVERITY_ORDER: Final = {"critical": 0, "high": 1, "warning": 2, "info": 3}
SEVERITY_STYLE: Final = {"critical": "bold red", "high": "red", "warning": "yellow",
                         "info": ""}  # fmt: skip
# what kind of SMS a line of the outbox is, by the English text that ends it
# (aedfleet/notify/text.py); the view puts the kind first, as the line is cut to the width
SMS_KINDS: Final = {"not yet acknowledged": "REPEAT", "RESOLVED": "resolved",
                    "ACKNOWLEDGED": "acked"}  # fmt: skip
WORKLIST_RULES: Final = ("expiring", "expired")  # a technician's jobs: pads, AED batteries


class Snapshot(NamedTuple):
    """The ops room at one moment."""

    elapsed: str  # real time since the demo began, +mm:ss
    ops_time: str  # the simulation's local time of day (fast during the cold night)
    districts: dict[str, Counter[str]]  # district -> readiness state -> cabinets
    beats: list[str]  # what happened so far, oldest first
    act: list[str]  # what the visitor can do now, or what their action did
    alerts: list[dict[str, Any]]  # the collector's active alerts
    sms: list[str]  # the outbox's lines, oldest first
    covered: str = ""  # the key places a ready AED covers, fleet-wide (docs/coverage.md)
    lost: tuple[str, ...] = ()  # key places that lost their last ready AED, newest first
    responders: str = ""  # "3 responders alerted, nearest 140 m" (docs/responders.md)


def clock_text(at_ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at_ms / 1000))


def act_lines(alert: dict[str, Any] | None, *, cabinet: str, rule: str, repeat_s: int,
              resolved: bool) -> list[str]:  # fmt: skip
    """What the visitor can type, or what their acknowledgement did: from the last state seen
    of the alert they are to acknowledge."""
    command = f"aedfleet alerts ack {cabinet} {rule}"
    if alert is None:
        return ["when an alert fires, act from a second terminal in this folder:",
                "  aedfleet alerts list", f"  {command}   (when the emergency fires)"]  # fmt: skip
    repeats = alert["repeats"]
    if alert["state"] == "acknowledged":
        return [f"acknowledged by {alert['acked_by']} at {clock_text(alert['changed_ms'])}: "
                f"repeats stopped ({repeats} repeat SMS before)"]  # fmt: skip
    if resolved:
        return [f"{rule} at {cabinet} resolved unacknowledged after {repeats} repeat SMS"]
    return [
        f"EMERGENCY at {cabinet}: acknowledge it from a second terminal:",
        f"  {command}",
        f"unacknowledged it repeats every {repeat_s} s: {repeats} repeat SMS so far",
    ]


def alert_lines(alerts: list[dict[str, Any]]) -> list[Text]:
    """The alerts that are not the technician's worklist, most severe first."""
    ordered = sorted((a for a in alerts if a["rule"] not in WORKLIST_RULES),
                     key=lambda a: (SEVERITY_ORDER[a["severity"]], a["since_ms"]))  # fmt: skip
    lines = []
    for a in ordered:
        extra = f"  repeat {a['repeats']}" if a["repeats"] else ""
        by = f" by {a['acked_by']}" if a["state"] == "acknowledged" else ""
        text = f"{a['severity']:8} {a['state']}{by} {a['cabinet_id']} {a['rule']}: {a['summary']}"
        lines.append(Text(text + extra, style=SEVERITY_STYLE[a["severity"]]))
    return lines


def worklist_lines(alerts: list[dict[str, Any]]) -> list[Text]:
    jobs = sorted((a for a in alerts if a["rule"] in WORKLIST_RULES),
                  key=lambda a: (a["cabinet_id"], a["rule"]))  # fmt: skip
    return [Text(f"{a['cabinet_id']}  {a['summary']}") for a in jobs]


def sms_line(line: str) -> Text:
    """`[hh:mm:ss] DEMO SMS to +86...: text` as `[hh:mm:ss] KIND +86...: text`."""
    stamp, _, rest = line.partition(" DEMO SMS to ")
    if not rest:
        return Text(line)
    kind = next((k for marker, k in SMS_KINDS.items() if marker in rest), "")
    shown = Text(f"{stamp} ")
    if kind:
        shown.append(f"{kind} ", style="bold magenta" if kind == "REPEAT" else "")
    shown.append(rest)
    return shown


def _counts(s: Snapshot) -> Counter[str]:
    total: Counter[str] = Counter()
    for counts in s.districts.values():
        total += counts
    return total


def _header(s: Snapshot) -> list[Text]:
    total = _counts(s)
    cabinets = sum(total.values())
    title = Text(f"aedfleet demo: the ops room  {s.elapsed}  ops clock {s.ops_time}  "
                 f"{total['available']}/{cabinets} ready", style="bold")  # fmt: skip
    counts = Text(" ")
    for state in STATES:
        counts.append(f"{state.replace('_', ' ')} {total[state]}   ", style=COLOURS[state])
    if s.covered:  # beside readiness: what it means for the crowded places
        counts.append(f"key places covered {s.covered}", style="bold cyan")
    return [title, counts]


def _district_lines(s: Snapshot) -> list[Text]:
    lines = [Text(f"{'district':14}" + "".join(f"{state:>11}" for state in STATES))]
    for district, counts in sorted(s.districts.items()):
        lines.append(Text(f"{district[:14]:14}" + "".join(f"{counts[st]:>11}" for st in STATES)))
    return lines


class _Section(NamedTuple):
    heading: str
    lines: list[Text]
    least: int  # rows it gets before any other section gets more
    newest_last: bool  # when cut, keep the last lines (a log) rather than the first
    turn: int  # when rows are left over, sections get more in this order


def render(s: Snapshot, width: int, height: int) -> list[Text]:
    """At most `height - 1` lines (the cursor's line stays free, so nothing scrolls), none
    wider than `width`."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        ask = Text(f"please widen this window to at least {MIN_WIDTH} x {MIN_HEIGHT} "
                   f"(it is {width} x {height})", style="bold yellow")  # fmt: skip
        return _fit([ask, *_header(s)], width, height)
    sections = [
        _Section("what happens", [Text(b) for b in s.beats], 4, True, 2),
        # the responders an emergency alerted, in the heading: it costs the act no row
        _Section("you are the duty officer" + (f": {s.responders}" if s.responders else ""),
                 [Text(a, style="bold") for a in s.act], 3, False, 4),
        _Section("key places that lost their last ready AED",
                 [Text(line, style="bold red") for line in s.lost], 2, False, 0),
        _Section("active alerts", alert_lines(s.alerts) or [Text("(none)")], 3, False, 0),
        _Section("technician's worklist", worklist_lines(s.alerts), 1, False, 1),
        _Section("SMS that would go out (a local file; nothing is sent)",
                 [sms_line(line) for line in s.sms] or [Text("(none yet)")], 3, True, 3),
    ]  # fmt: skip
    sections = [section for section in sections if section.lines]
    header = _header(s)
    budget = height - 1 - len(header) - len(sections)
    districts = _district_lines(s)
    wanted = sum(len(section.lines) for section in sections)
    if budget - wanted >= len(districts) + 1:  # a tall window: the districts too
        header += [Text("readiness by district", style="bold underline"), *districts]
        budget -= len(districts) + 1
    rows = [min(len(section.lines), section.least) for section in sections]
    left = budget - sum(rows)
    for index in sorted(range(len(sections)), key=lambda i: sections[i].turn):
        more = min(left, len(sections[index].lines) - rows[index])
        rows[index] += more
        left -= more
    lines = list(header)
    for section, count in zip(sections, rows, strict=True):
        lines.append(Text(f"-- {section.heading} ".ljust(width, "-"), style="bold cyan"))
        shown = section.lines[-count:] if section.newest_last else section.lines[:count]
        if len(section.lines) > count and not section.newest_last and count:
            shown = [*shown[:-1], Text(f"... and {len(section.lines) - count + 1} more")]
        lines += shown if count else []
    return _fit(lines, width, height)


def _fit(lines: list[Text], width: int, height: int) -> list[Text]:
    for line in lines:
        line.no_wrap = True
        line.overflow = "ellipsis"
        line.truncate(width, overflow="ellipsis")
    return lines[: max(1, height - 1)]
