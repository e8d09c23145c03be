# Stand-in for MicroPython's `ntptime` (never flashed; micropython-lib ntptime.py): settime()
# resolves `host`, sends one UDP query and waits up to `timeout` seconds, blocking the whole
# program meanwhile; without an answer it raises OSError(ETIMEDOUT). The script's
# ["ntp", epoch_ms_at_that_moment] makes a server answer; the clock then is set to it.

import time

import esp32world
import network

host = "pool.ntp.org"
timeout = 1


def settime():
    answer = esp32world.state("ntp")
    if answer is None or not network.WLAN(network.STA_IF).isconnected():
        esp32world.advance(timeout * 1000)
        esp32world.log("ntp", ok=False)
        raise OSError(110)  # ETIMEDOUT
    epoch_at, world_at = answer
    time.set_rtc_ms(epoch_at + esp32world.world_ms() - world_at)
    esp32world.log("ntp", ok=True)
