# Prints the bytes the firmware allocates per input pass (poll the switches, check the
# schedules, drive LED and buzzer) with nothing happening, under the MicroPython unix port,
# on the simulated board. argv: data_dir
import gc
import sys

import board_sim
import config
from app import App

PASSES = 1000
settings = config.merge(
    {"id": "bz-bc-001", "broker": "mqtt://127.0.0.1:1", "data_dir": sys.argv[1]}
)
app = App(settings, board_sim.Board(commands=False), log=lambda _line: None)
board = app.board
now = board.ticks_ms()
app.poll_inputs(now)
gc.collect()
gc.disable()
before = gc.mem_alloc()
for _ in range(PASSES):
    now = board.ticks_ms()
    app.poll_inputs(now)
    app.schedule.due(now)
    board.set_led(app.link.connected)
    board.set_buzzer(False)
print((gc.mem_alloc() - before) // PASSES)
