# Entry point on the ESP32 and under the unix port: pick the application slot (slots.py),
# load the config, pick the board, run. A bad config prints why and waits for a reflash
# instead of boot-looping; anything that escapes the app ends in a reset (counted by safe
# boot), never in a dark board; a new version that fails on trial is rolled back at the next
# boot. Only loader modules (slots) are imported before the slot is on sys.path.

import json
import sys

import slots

HOLD_FILE = "hold"  # written by `aedfleet firmware flash`: no app, no watchdog while it copies


def _held():
    try:
        open(HOLD_FILE).close()
        return True
    except OSError:
        return False


def _data_dir(path):
    try:
        with open(path) as handle:
            data = json.load(handle).get("data_dir", "/")
        return data.rstrip("/") + "/" if isinstance(data, str) else "/"
    except (OSError, ValueError, AttributeError):
        return "/"  # config.load() says what is wrong with it


def _pick_slot(data):
    """Put the slot this boot runs in front of sys.path; returns slots.json's state."""
    state = slots.load(data)
    before = json.dumps(state)
    slot, rolled_back = slots.choose(state)
    if json.dumps(state) != before:
        slots.save(data, state)
    if rolled_back:
        back = slot or "factory"
        print("OTA: version %s failed its trial; back to %s" % (state["failed_fw"], back))
    if slot:
        sys.path.insert(0, slots.folder(data, slot).rstrip("/"))
    state["rolled_back"] = rolled_back
    return state


def _reset():
    try:
        import machine  # noqa: PLC0415
    except ImportError:
        raise SystemExit(1)  # unix port: whoever runs it starts it again
    machine.reset()


def _board(config, fresh_start):
    """The board, and whether this is safe mode; None when nothing may start. A fresh start
    (a new version's trial, or the known-good one after a rollback) clears the crash count,
    so safe mode, which takes updates, is left by the version an update brings."""
    try:
        import esp32  # noqa: F401  the ESP32 port (its stand-ins in the tests)
    except ImportError:
        import board_sim

        return board_sim.Board(hold_ms=config["debounce_ms"]), False
    import board_esp32
    import machine

    rtc = machine.RTC()
    memory = rtc.memory()  # boot.py counted this boot
    if fresh_start and memory:
        rtc.memory(bytes([1]) + memory[1:])
        memory = rtc.memory()
    if _held():
        print("HOLD: flashing in progress; app not started")
        return None, False
    safe = bool(memory) and memory[0] > slots.SAFE_BOOT_LIMIT
    if safe:
        print("SAFE MODE: repeated crashes after boot; only the link and updates run")
    return board_esp32.Board(config), safe


def main(path="config.json"):
    data = _data_dir(path)
    state = _pick_slot(data)
    on_trial = state["trial"] is not None
    try:
        import asyncio  # noqa: PLC0415

        import config as configuration  # noqa: PLC0415 - from the slot just picked
        from app import App  # noqa: PLC0415

        try:
            config = configuration.load(path)
        except configuration.ConfigError as error:
            print("CONFIG ERROR:", error)
            print("fix config.json and reflash: aedfleet firmware flash")
            if on_trial:  # the new version cannot read this config: back to the old one
                raise
            return
        board, safe = _board(config, on_trial or state["rolled_back"])
        if board is None:
            return
        asyncio.run(App(config, board, safe=safe).run())
    except Exception as error:  # a bug must not leave a dark cabinet: say why, then reset
        print("FATAL:", repr(error))
        sys.print_exception(error)
        if on_trial:
            state = slots.load(data)
            slots.end_trial(state, slots.TRIAL_CRASH)
            slots.save(data, state)
        _reset()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "config.json")
