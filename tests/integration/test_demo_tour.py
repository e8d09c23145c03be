"""`aedfleet demo` driven as a visitor would, in an 80 x 24 pseudo-terminal, at its short pace:
wait for the emergency, see it repeat unacknowledged, type the ack command the demo printed in
a second "terminal" (the same folder, no flags), see the acknowledgement in the view and no
further repeat in the outbox; watch the rest of the day's story (each beat announced, the
collector seeing it); then Ctrl-C, and nothing the demo started is left running."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from aedfleet.services import free_port
from aedfleet.simulator.demo_fleet import demo_inventory
from aedfleet.simulator.demo_story import PACES, beat_texts, cast
from aedfleet.simulator.scenario import load_library

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

AEDFLEET = Path(sys.executable).with_name("aedfleet")
DUTY_OFFICER = "+8613700000000"  # the demo's duty officer: one SMS of each kind
REPEATED = ("重复提醒", "not yet acknowledged")  # the repeat SMS's mark (zh, en)
PACE = PACES["short"]
WITHIN_S = 120.0  # generous: two cores shared with other test runs


def _seconds(clock: str) -> int:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def _repeat_sms(outbox: Path, cabinet_name: str) -> int:
    if not outbox.exists():
        return 0
    return sum(
        1 for line in outbox.read_text(encoding="utf-8").splitlines()
        if DUTY_OFFICER in line and cabinet_name in line and any(m in line for m in REPEATED)
    )  # fmt: skip


def _watch_until(child: pexpect.spawn[str], done: Callable[[], bool], what: str) -> None:
    """Keep reading the demo's screen (a terminal nobody reads blocks its writer) until
    `done`, up to the generous deadline."""
    deadline = time.monotonic() + WITHIN_S
    while not done():
        assert time.monotonic() < deadline, f"not within {WITHIN_S:g} s: {what}"
        with contextlib.suppress(pexpect.TIMEOUT):
            child.read_nonblocking(65536, timeout=0.2)


def _seen(child: pexpect.spawn[str], pattern: str) -> re.Match[str]:
    """Wait for the pattern on the screen; its match."""
    child.expect(pattern)
    assert isinstance(child.match, re.Match)
    return child.match


def _ours(folder: Path) -> list[str]:
    """Command lines of running processes that name the folder (the broker, the database)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if str(folder) in text:
                found.append(text)
    return found


def test_a_visitor_acknowledges_the_emergency_and_watches_the_day(tmp_path: Path) -> None:
    argv = ["demo", "--pace", "short", "--api-port", str(free_port())]
    child = pexpect.spawn(str(AEDFLEET), argv, cwd=tmp_path, dimensions=(24, 80),
                          encoding="utf-8", timeout=WITHIN_S)  # fmt: skip
    shown = (tmp_path / "screen.log").open("w", encoding="utf-8")
    child.logfile_read = shown
    workdir = tmp_path / ".run" / "demo"
    try:
        token = _seen(child, r"demo token\s+(\S+)").group(1)
        command, cabinet, rule = _seen(child, r"  (aedfleet alerts ack (\S+) (\S+))\r\n").groups()
        assert (workdir / "aedfleet.env").stat().st_mode & 0o777 == 0o600
        name = next(c.name for c in demo_inventory() if c.id == cabinet)  # what the SMS says

        child.expect(f"EMERGENCY at {cabinet}: acknowledge it")
        child.expect(re.escape(command))  # the view says what to type
        # unacknowledged, it repeats on the demo's schedule: the view counts, the outbox gains
        child.expect(r"repeats every \d+ s: [1-9]\d* repeat SMS so far")
        outbox = workdir / "sms-outbox.txt"
        _watch_until(child, lambda: _repeat_sms(outbox, name) >= 1, "a repeat SMS")

        # the second terminal: this folder, the virtualenv active, the command as printed
        path = f"{AEDFLEET.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        ack = subprocess.Popen(command.split(), cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PATH": path})  # fmt: skip
        _watch_until(child, lambda: ack.poll() is not None, "the ack command to finish")
        out, err = ack.communicate()
        assert ack.returncode == 0, err
        assert f"acknowledged {rule} on {cabinet} as you" in out

        acked = _seen(child, r"acknowledged by you at (\d\d:\d\d:\d\d): repeats stopped "
                             r"\((\d+) repeat SMS before\)")  # fmt: skip
        acked_at, repeats = acked.group(1), int(acked.group(2))
        # the collector's clock runs on past two more repeat periods...
        while True:
            now = _seen(child, r"ops clock (\d\d:\d\d:\d\d)").group(1)
            if (_seconds(now) - _seconds(acked_at)) % 86_400 > 2 * PACE.repeat_s + 1:
                break
        # ... and still says so, and the outbox holds no repeat beyond those before the ack
        child.expect(rf"repeats stopped \({repeats} repeat SMS before\)")
        assert _repeat_sms(outbox, name) == repeats

        child.expect("that was the day")  # the rest of the story
        child.sendintr()
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
    finally:
        if child.isalive():
            child.kill(9)
        shown.close()
    assert _ours(tmp_path) == []
    assert not (workdir / "aedfleet.env").exists()
    # the demo's secret is on the screen only, in no log or file it leaves behind
    for left in workdir.rglob("*"):
        if left.is_file() and left.stat().st_size < 50_000_000:
            assert token.encode() not in left.read_bytes(), left
    log = (workdir / "collector.log").read_text(encoding="utf-8")
    assert "broker closed the connection" not in log  # the services outlived the shutdown
    # each beat was announced as it started, and the collector saw what it did
    the = cast(demo_inventory())
    pads_days = load_library()["pads_expiring"].pads_expire_in_days or 0
    screen = (tmp_path / "screen.log").read_text(encoding="utf-8")
    for beat, text in beat_texts(the, PACE, pads_days).items():
        assert text in screen, beat
    for seen in (
        f"firing {the.pads.id} expiring: pads expire",
        f"firing {the.offline.id} offline",
        f"resolved {the.offline.id} offline",
        f"firing {the.night.id} temperature",
    ):
        assert f"alert {seen}" in log
