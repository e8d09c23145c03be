# Safe boot: count boots that never became stable (RTC memory survives resets, not power
# loss). After three in a row, main.py does not start the app and the REPL stays free for a
# reflash with `aedfleet firmware flash`.

import cabinet
import machine

_rtc = machine.RTC()
_memory = _rtc.memory()
_count, SAFE_MODE = cabinet.safe_boot(
    _memory[0] if _memory else 0, machine.reset_cause() == machine.PWRON_RESET
)
_rtc.memory(bytes([_count]))
if SAFE_MODE:
    print("SAFE MODE: %d crashes soon after boot; app not started. Reflash or fix config." % _count)
