# Entry point on the ESP32 and under the unix port: load the config, pick the board, run.
# A bad config prints why and waits for a reflash instead of boot-looping; anything that
# escapes the app ends in a reset (counted by safe boot), never in a dead board.

import asyncio
import sys

import config as configuration
from app import App

HOLD_FILE = "hold"  # written by `aedfleet firmware flash`: no app, no watchdog while it copies


def _held():
    try:
        open(HOLD_FILE).close()
        return True
    except OSError:
        return False


def _board(config):
    try:
        import esp32  # noqa: F401  the ESP32 port (its stand-ins in the tests)
    except ImportError:
        import board_sim

        return board_sim.Board(hold_ms=config["debounce_ms"])
    import board_esp32
    import cabinet
    import machine

    memory = machine.RTC().memory()  # boot.py counted this boot
    if memory and memory[0] > cabinet.SAFE_BOOT_LIMIT:
        print("SAFE MODE: repeated crashes after boot; reflash with aedfleet firmware flash")
        return None  # no app, no watchdog: the REPL stays free
    if _held():
        print("HOLD: flashing in progress; app not started")
        return None
    return board_esp32.Board(config)


def main(path="config.json"):
    try:
        config = configuration.load(path)
    except configuration.ConfigError as error:
        print("CONFIG ERROR:", error)
        print("fix config.json and reflash: aedfleet firmware flash")
        return
    board = _board(config)
    if board is None:
        return
    try:
        asyncio.run(App(config, board).run())
    except Exception as error:  # a bug must not leave a dark cabinet: say why, then reset
        print("FATAL:", repr(error))
        sys.print_exception(error)
        board.reset()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "config.json")
