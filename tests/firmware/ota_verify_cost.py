# Ed25519 verification under the MicroPython unix port: prints "<ok> <ms per verify>
# <module heap bytes>". argv: public key (hex), the message's file, signature (hex); the
# message comes in a file, as long arguments crash this unix port build. Run with a small heap
# (-X heapsize=...) it shows the heap a verify needs: what is live at any moment is the
# message, a SHA-512 block's words and a few points of 32-byte integers.
import gc
import sys
import time
from binascii import unhexlify

gc.collect()
before = gc.mem_alloc()
import ed25519  # noqa: E402

gc.collect()
module = gc.mem_alloc() - before
key, signature = unhexlify(sys.argv[1]), unhexlify(sys.argv[3])
with open(sys.argv[2], "rb") as handle:
    message = handle.read()
ok = True
runs = 5
started = time.ticks_ms()
for _ in range(runs):
    ok = ok and ed25519.verify(key, message, signature)
took = time.ticks_diff(time.ticks_ms(), started) // runs
print(ok, took, module)
