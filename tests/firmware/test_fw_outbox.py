# Outbox and sequence counter: bounded, persistent, telemetry dropped before events.

import os
import sys

from outbox import BOOT, EVENT, SELF_TEST, TELEMETRY, Outbox, SequenceCounter

DIR = "/tmp/aedfleet-fw-test-" + sys.implementation.name


def _fresh(name):
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    path = DIR + "/" + name
    for suffix in ("", ".tmp"):
        try:
            os.remove(path + suffix)
        except OSError:
            pass
    return path


def test_messages_survive_a_reboot_in_order():
    path = _fresh("order")
    box = Outbox(path, capacity=10)
    for seq in range(5):
        box.put(seq, EVENT, "aed/v1/c/event", b'{"n":%d}' % seq)
    box.remove(0)
    again = Outbox(path, capacity=10)
    assert len(again) == 4
    sent = []
    while True:
        item = again.peek()
        if item is None:
            break
        sent.append(item[0])
        assert item[1] == "aed/v1/c/event"
        assert item[2] == b'{"n":%d}' % item[0]
        again.remove(item[0])
    assert sent == [1, 2, 3, 4]


def test_full_outbox_drops_telemetry_first_and_counts():
    path = _fresh("drop")
    box = Outbox(path, capacity=3)
    box.put(1, EVENT, "t", b"e1")
    box.put(2, TELEMETRY, "t", b"t2")
    box.put(3, EVENT, "t", b"e3")
    box.put(4, EVENT, "t", b"e4")  # drops telemetry 2, not event 1
    assert box.dropped == 1
    assert box.peek()[0] == 1
    box.put(5, EVENT, "t", b"e5")  # only events left: the oldest goes
    assert box.dropped == 2
    assert box.peek()[0] == 3
    again = Outbox(path, capacity=3)
    assert again.dropped == 2 and len(again) == 3


def test_a_record_cut_by_power_loss_is_ignored():
    path = _fresh("torn")
    box = Outbox(path, capacity=5)
    box.put(1, EVENT, "t", b"ok")
    with open(path, "ab") as handle:
        handle.write(b"+2 e t half-writ")
    again = Outbox(path, capacity=5)
    assert len(again) == 1
    again.put(3, EVENT, "t", b"next")
    assert len(Outbox(path, capacity=5)) == 2


def test_the_log_is_compacted_so_flash_use_stays_bounded():
    path = _fresh("compact")
    box = Outbox(path, capacity=4)
    for seq in range(200):
        box.put(seq, EVENT, "aed/v1/c/event", b"x" * 50)
        box.remove(seq)
    assert os.stat(path)[6] < 4 * 100 + 400


def test_sequence_numbers_never_repeat_across_reboots():
    path = _fresh("seq")
    first = SequenceCounter(path, block=8)
    taken = [first.take() for _ in range(5)]
    second = SequenceCounter(path, block=8)  # a crash without warning
    later = second.take()
    assert taken == [0, 1, 2, 3, 4]
    assert later > taken[-1]


def test_reboots_during_an_outage_never_push_out_door_events():
    # the link watchdog resets the board every ten minutes while the broker is away
    path = _fresh("reboots")
    box = Outbox(path, capacity=4)
    box.put(1, EVENT, "t", b"door_open")
    seq = 2
    for _reboot in range(100):
        box = Outbox(path, capacity=4)
        box.put(seq, BOOT, "t", b"boot")
        box.put(seq + 1, SELF_TEST, "t", b"self_test")
        seq += 2
    box.put(seq, EVENT, "t", b"door_close")
    kept = []
    while box.peek() is not None:
        kept.append(box.peek()[2])
        box.remove(box.peek()[0])
    assert kept == [b"door_open", b"boot", b"self_test", b"door_close"]
    assert box.dropped == 0
