# Safe boot: count boots that never became stable (RTC memory survives resets and deep sleep,
# not power loss). A power-on or a deep-sleep wake is a clean start; after three other resets
# in a row that never became stable, main.py does not start the app and the REPL stays free
# for a reflash with `aedfleet firmware flash`. The file `hold` (written by `flash` before it
# copies) keeps the app and its watchdog stopped as well.

import cabinet
import machine

_rtc = machine.RTC()
_memory = _rtc.memory()
_count, SAFE_MODE = cabinet.safe_boot(
    _memory[0] if _memory else 0,
    machine.reset_cause() in (machine.PWRON_RESET, machine.DEEPSLEEP_RESET),
)
_rtc.memory(bytes([_count]) + _memory[1:])
if SAFE_MODE:
    print("SAFE MODE: %d crashes soon after boot; app not started. Reflash or fix config." % _count)
