# The firmware's App on the simulated board under the MicroPython unix port, taking the update
# its retained config offers; prints "<heap after boot> <peak live heap while downloading>"
# (bytes, after a collection, as the app holds them; the peak is sampled at every chunk as it
# arrives and right before the signature check, which loads the Ed25519 module for itself)
# once the release is installed and the app restarts into it; the first and last samples go to
# stderr (a download that leaks grows from one to the other). argv: config.json
import asyncio
import gc
import sys

import board_sim
import config
from app import App

samples = []


def sample():
    gc.collect()
    samples.append(gc.mem_alloc())


class Board(board_sim.Board):
    def reset(self):
        print(samples[:3], samples[-3:], file=sys.stderr)
        print(after_boot, max(samples))
        raise SystemExit(0)


settings = config.load(sys.argv[1])
app = App(settings, Board(commands=False), log=lambda _line: None)
app.telemetry(app.board.ticks_ms())
gc.collect()
after_boot = gc.mem_alloc()

import ota  # noqa: E402

_on_chunk = ota.Updater.on_chunk
_verify = ota._verify


def on_chunk(self, topic, payload):
    _on_chunk(self, topic, payload)
    sample()


def verify(key, message, signature):
    sample()
    return _verify(key, message, signature)


ota.Updater.on_chunk = on_chunk
ota._verify = verify
asyncio.run(app.run())
