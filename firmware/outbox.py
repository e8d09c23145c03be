# The offline outbox and the sequence counter: what must survive Wi-Fi loss, broker loss,
# reboots and deep sleep. Both keep their state in small files (flash on the ESP32).
#
# The outbox is an append-only log: "+<seq> <e|t> <topic> <payload>" adds a message,
# "-<seq>" removes one once its PUBACK arrived, "x<count>" records how many were dropped.
# Only (seq, kind, offset, length) stays in RAM; payloads are read back from the file when sent.
# A line cut short by a power loss has no newline and is ignored on replay.

import os

EVENT = "e"
TELEMETRY = "t"
# events of which only the newest unsent one matters: a broker outage that makes the link
# watchdog reset the board every ten minutes must not fill the outbox with boot records and
# push out door and AED events
BOOT = "b"
SELF_TEST = "s"
COALESCED = (BOOT, SELF_TEST)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def write_atomic(path, data):
    """Replace a small file whole: a power loss leaves the old one or the new one, never half."""
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write(data)
    os.rename(temporary, path)


class SequenceCounter:
    """Per-device sequence numbers that never repeat across reboots.

    Flash holds the end of a reserved block; a reboot continues from there, so at most
    `block` numbers are skipped and none is reused, with one flash write per block.
    """

    LIMIT = 1 << 32

    def __init__(self, path, block=64):
        self._path = path
        self._block = block
        start = 0
        if _exists(path):
            with open(path) as handle:
                text = handle.read().strip()
            start = int(text) if text else 0
        self._next = start
        self._reserved = start
        self._reserve()

    def _reserve(self):
        self._reserved = self._next + self._block
        write_atomic(self._path, str(self._reserved))

    def take(self):
        value = self._next % self.LIMIT
        self._next += 1
        if self._next >= self._reserved:
            self._reserve()
        return value


class Outbox:
    """Bounded FIFO of unsent messages; when full, telemetry goes before any event."""

    def __init__(self, path, capacity=1000):
        if capacity < 1:
            raise ValueError("outbox capacity must be at least 1")
        self._path = path
        self.capacity = capacity
        self.dropped = 0
        self._entries = []  # [seq, kind, offset, length] in arrival order
        self._removed = 0
        if _exists(path):
            self._replay()
        else:
            open(path, "w").close()

    def __len__(self):
        return len(self._entries)

    def _replay(self):
        live = {}
        order = []
        offset = 0
        with open(self._path, "rb") as handle:
            while True:
                line = handle.readline()
                if not line:
                    break
                start = offset
                offset += len(line)
                if not line.endswith(b"\n"):
                    break  # cut short by a power loss: never acknowledged, never sent
                mark = line[0:1]
                if mark == b"+":
                    head, kind, _rest = line[1:].split(b" ", 2)
                    seq = int(head)
                    live[seq] = [seq, kind.decode(), start, len(line)]
                    order.append(seq)
                elif mark == b"-":
                    live.pop(int(line[1:]), None)
                    self._removed += 1
                elif mark == b"x":
                    self.dropped = int(line[1:])
        self._entries = [live[seq] for seq in order if seq in live]
        self._compact()

    def _append(self, text):
        with open(self._path, "ab") as handle:
            offset = handle.seek(0, 2)
            handle.write(text)
        return offset

    def put(self, seq, kind, message_topic, payload):
        """Keep a message until it is acknowledged; a BOOT or SELF_TEST record replaces an
        unsent one of its kind."""
        if kind in COALESCED:
            for entry in self._entries:
                if entry[1] == kind:
                    self.remove(entry[0])
                    break
        if len(self._entries) >= self.capacity:
            self._drop_one()
        record = b"+%d %s %s " % (seq, kind.encode(), message_topic.encode()) + payload + b"\n"
        offset = self._append(record)
        self._entries.append([seq, kind, offset, len(record)])

    def _drop_one(self):
        victim = 0
        for index, entry in enumerate(self._entries):
            if entry[1] == TELEMETRY:
                victim = index
                break
        entry = self._entries.pop(victim)
        self.dropped += 1
        self._append(b"-%d\nx%d\n" % (entry[0], self.dropped))
        self._removed += 1

    def peek(self):
        """The oldest message as (seq, topic, payload), or None when empty."""
        if not self._entries:
            return None
        seq, _kind, offset, length = self._entries[0]
        with open(self._path, "rb") as handle:
            handle.seek(offset)
            record = handle.read(length)
        _head, _kind_field, message_topic, payload = record.rstrip(b"\n").split(b" ", 3)
        return seq, message_topic.decode(), payload

    def remove(self, seq):
        """The message with this seq was acknowledged."""
        for index, entry in enumerate(self._entries):
            if entry[0] == seq:
                del self._entries[index]
                self._append(b"-%d\n" % seq)
                self._removed += 1
                break
        if self._removed > self.capacity:
            self._compact()

    def _compact(self):
        """Rewrite the log with only the live messages (bounded flash use)."""
        temporary = self._path + ".tmp"
        fresh = []
        with open(self._path, "rb") as source, open(temporary, "wb") as target:
            target.write(b"x%d\n" % self.dropped)
            for seq, kind, offset, length in self._entries:
                source.seek(offset)
                record = source.read(length)
                fresh.append([seq, kind, target.seek(0, 1), length])
                target.write(record)
        os.rename(temporary, self._path)
        self._entries = fresh
        self._removed = 0
