# The world around the stand-in ESP32 (never flashed): a virtual clock, the script of what the
# test does to the board (pin levels, access point, sensor, end of run), what survives a reset
# (RTC memory, reset cause, RTC time) and a log of what the board did, all in the directory
# named by AEDFLEET_ESP32_WORLD. The test writes script.json and reads events.jsonl.
#
# Time: ticks_ms() counts from this process's start, like the ESP32's ticks after any reset;
# the world clock (world_ms, what the script's times are in) continues across resets. When the
# asyncio loop has nothing to do but wait for a timer (no socket is waiting), the clock jumps
# to the timer instead of sleeping, so minutes of Wi-Fi outage pass in a moment; while a socket
# waits, time runs as it does (a real broker answers in real time).

import json
import os
import sys

import utime

DIR = os.getenv("AEDFLEET_ESP32_WORLD")
_NVRAM = DIR + "/nvram.json"
_start = utime.ticks_ms()
_skipped = 0


def _load(path, default):
    try:
        with open(path) as handle:
            return json.load(handle)
    except OSError:
        return default


SCRIPT = _load(DIR + "/script.json", {})
# after a power cycle the test deletes nvram.json: reset cause power-on, RTC memory and time gone
NVRAM = _load(_NVRAM, {"world_ms": 0, "cause": 1, "rtc_memory": "", "rtc_at": None})
_boot_world_ms = NVRAM["world_ms"]
TIMELINE = sorted(SCRIPT.get("timeline", []), key=lambda entry: entry[0])  # [ms, what, *args]
_applied = len([entry for entry in TIMELINE if entry[0] <= _boot_world_ms])
_listeners = []  # called with (what, args) for each script entry as its time comes
_watchdogs = []  # [timeout_ms, last_feed_ticks]


def ticks_ms():
    return utime.ticks_add(utime.ticks_ms(), _skipped)


def uptime_ms():
    return utime.ticks_diff(utime.ticks_ms(), _start) + _skipped


def world_ms():
    return _boot_world_ms + uptime_ms()


def advance(ms):
    """Time passes without the process doing anything (a blocking call, a jump of the clock)."""
    global _skipped
    _skipped += ms


def log(kind, **fields):
    fields["at"] = world_ms()
    fields["kind"] = kind
    with open(DIR + "/events.jsonl", "a") as handle:
        handle.write(json.dumps(fields) + "\n")


def state(what, *args):
    """The latest script value of `what` (with these leading args) at the world's time now."""
    value = None
    now = world_ms()
    for entry in TIMELINE:
        if entry[0] > now:
            break
        if entry[1] == what and list(entry[2 : 2 + len(args)]) == list(args):
            value = entry[2 + len(args)]
    return value


def listen(callback):
    _listeners.append(callback)


def _apply_due():
    global _applied
    now = world_ms()
    while _applied < len(TIMELINE) and TIMELINE[_applied][0] <= now:
        entry = TIMELINE[_applied]
        _applied += 1
        if entry[1] == "end":  # the test stops looking; what the board holds is kept
            log("end")
            save(NVRAM["cause"])
            raise SystemExit(0)
        for callback in _listeners:
            callback(entry[1], entry[2:])


def _next_entry_in_ms():
    if _applied < len(TIMELINE):
        return max(0, TIMELINE[_applied][0] - world_ms())
    return None


def save(cause):
    """What survives the reset that is about to happen, with the cause the next start sees."""
    NVRAM["world_ms"] = world_ms()
    NVRAM["cause"] = cause
    with open(_NVRAM, "w") as handle:
        json.dump(NVRAM, handle)


def reset(cause, why):
    log("reset", cause=cause, why=why)
    save(cause)
    raise SystemExit(0)


def watch(watchdog):
    _watchdogs.append(watchdog)


def _check_watchdogs():
    for timeout_ms, fed in _watchdogs:
        if utime.ticks_diff(ticks_ms(), fed) > timeout_ms:
            reset(3, "watchdog")  # machine.WDT_RESET


def install():
    """Run asyncio on this clock: call once before asyncio.run()."""
    import asyncio.core as core  # noqa: PLC0415

    queue = core._io_queue
    real_wait = queue.wait_io_event
    core.ticks = ticks_ms

    def wait_io_event(dt):
        _apply_due()
        _check_watchdogs()
        sockets = [item for item in queue.map.values() if not _is_flag(item[2])]
        upcoming = _next_entry_in_ms()
        if dt < 0 or sockets:
            real = dt if upcoming is None or (0 <= dt < upcoming) else upcoming
            real_wait(min(real, 50) if real >= 0 else 50)
        else:
            if any(item[2].state for item in queue.map.values()):
                real_wait(0)  # a flag was set (an IRQ): its waiter runs now
                return
            step = dt if upcoming is None else min(dt, upcoming)
            advance(step)
        _apply_due()
        _check_watchdogs()

    queue.wait_io_event = wait_io_event


def _is_flag(item):
    import asyncio  # noqa: PLC0415

    return isinstance(item, asyncio.ThreadSafeFlag)


def run_boot_and_main():
    """What the ESP32 does at every start: boot.py, then main.py, from the current directory."""
    install()
    for name in ("boot.py", "main.py"):
        with open(name) as handle:
            code = handle.read()
        exec(code, {"__name__": "__main__", "__file__": name})
    log("idle")  # main.py returned: the board sits at the REPL
    save(5)


if __name__ == "__main__":
    sys.path.append(".")
    run_boot_and_main()
