# Connects the firmware's Link to a broker, with TLS or without, under the MicroPython unix
# port, and prints "<connected> <connect ms> <heap held while connected, bytes>".
# argv: host port username password [ca_file]
import asyncio
import gc
import sys
import time

import link


async def measure():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    gc.collect()
    before = gc.mem_alloc()
    context = link.tls_context(sys.argv[5]) if len(sys.argv) > 5 else None
    started = time.ticks_ms()
    connection = link.Link(
        host, port, user, 30, 10000, time.ticks_ms, print, user, password, None, None, context
    )
    connected = await connection.connect("aed/v1/%s/status" % user, b"{}")
    took = time.ticks_diff(time.ticks_ms(), started)
    gc.collect()
    held = gc.mem_alloc() - before
    await connection.close(clean=True)
    print(connected, took, held)


asyncio.run(measure())
