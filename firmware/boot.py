# Safe boot: count boots that never became stable (RTC memory survives resets and deep sleep,
# not power loss). A power-on or a deep-sleep wake is a clean start; after three other resets
# in a row that never became stable, main.py starts only the safe mode: Wi-Fi, the broker link
# and the update path, no switches; if even that fails the REPL stays free for a reflash with
# `aedfleet firmware flash`. The file `hold` (written by `flash` before it copies) keeps the
# app and its watchdog stopped. boot.py imports only loader modules (never a slot's).

import machine
import slots

_rtc = machine.RTC()
_memory = _rtc.memory()
_count = slots.safe_boot(
    _memory[0] if _memory else 0,
    machine.reset_cause() in (machine.PWRON_RESET, machine.DEEPSLEEP_RESET),
)
_rtc.memory(bytes([_count]) + _memory[1:])  # main.py decides on safe mode and says so
