# Prints the heap the firmware holds once booted, under the MicroPython unix port:
# modules imported, config loaded, outbox and state machine built, boot event queued.
# With a CA file as the second argument the broker is mqtts:// (ssl imported, CA loaded).
import gc

gc.collect()
before = gc.mem_alloc()

import sys  # noqa: E402

import board_sim  # noqa: E402
import config  # noqa: E402
from app import App  # noqa: E402

tls = len(sys.argv) > 2
settings = config.merge(
    {
        "id": "bz-bc-001",
        "broker": "mqtts://localhost:1" if tls else "mqtt://127.0.0.1:1",
        "ca_file": sys.argv[2] if tls else "ca.crt",
        "data_dir": sys.argv[1],
    }
)
app = App(settings, board_sim.Board(commands=False), log=lambda _line: None)
app.telemetry(app.board.ticks_ms())
gc.collect()
print(gc.mem_alloc() - before)
