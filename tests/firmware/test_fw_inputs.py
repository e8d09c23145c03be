# The app on the simulated board: switch changes latched by board.set_input (the simulator's
# entry point) reach the cabinet in order, even when they revert before the app reads them.

import os
import sys

import board_sim
import cabinet
import config
from app import App

DIR = "/tmp/aedfleet-fw-inputs-" + sys.implementation.name


def _app(now):
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    for name in ("outbox", "outbox.tmp", "seq", "seq.tmp"):
        try:
            os.remove(DIR + "/" + name)
        except OSError:
            pass
    settings = config.merge(
        {"id": "bz-bc-001", "broker": "mqtt://127.0.0.1:1", "data_dir": DIR, "poll_ms": 1000}
    )
    board = board_sim.Board(hold_ms=50, ticks=lambda: now[0], commands=False)
    return App(settings, board, log=lambda _line: None)


def _events(app):
    names = []
    while app.outbox.peek() is not None:
        seq, _topic, payload = app.outbox.peek()
        names.append(payload.split(b'"ev":"')[1].split(b'"')[0].decode())
        app.outbox.remove(seq)
    return names


def test_a_door_pulse_shorter_than_one_poll_is_open_then_close():
    now = [1000]
    app = _app(now)
    _events(app)  # the boot event
    app.board.set_input("door", True)
    app.board.set_input("door", False)  # shut again before the next poll
    now[0] = cabinet.ticks_add(now[0], 999)  # one poll later
    app.poll_inputs(now[0])
    assert _events(app) == ["door_open", "door_close"]
    assert not app.cabinet.door_open
