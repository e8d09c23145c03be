# The broker list (link.Brokers): which broker comes next and how long the cabinet waits first,
# on an injected clock and random source. Runs under CPython and the MicroPython unix port.

import config
from link import Brokers

A, B, C = ("10.0.0.1", 1883, None), ("10.0.0.2", 1883, None), ("10.0.0.3", 1883, None)


class Clock:
    def __init__(self):
        self.now = 0

    def ticks_ms(self):
        return self.now


def _brokers(brokers, clock, bits=0, **options):
    return Brokers(brokers, clock.ticks_ms, lambda _n: bits, **options)


def _attempts(brokers, failures):
    """The broker of each of `failures` failed attempts, and the wait after it."""
    seen = []
    for _ in range(failures):
        tried = brokers.current()
        seen.append((tried, brokers.failed()))
    return seen


def test_each_broker_in_turn_then_a_doubling_wait_after_each_round():
    brokers = _brokers([A, B, C], Clock())
    waits = [wait for _broker, wait in _attempts(brokers, 9)]
    # no wait inside a round; the lowest draw waits half the backoff: 1 s, then 2 s, then 4 s
    assert waits == [0, 0, 500, 0, 0, 1000, 0, 0, 2000]
    assert [broker for broker, _wait in _attempts(brokers, 3)] == [A, B, C]


def test_the_wait_is_jittered_in_the_upper_half_of_the_backoff_and_capped():
    highest = _brokers([A], Clock(), bits=65535, first_ms=1000, cap_ms=8000)
    lowest = _brokers([A], Clock(), bits=0, first_ms=1000, cap_ms=8000)
    high = [wait for _broker, wait in _attempts(highest, 6)]
    low = [wait for _broker, wait in _attempts(lowest, 6)]
    assert low == [500, 1000, 2000, 4000, 4000, 4000]
    # 65535 % (half + 1): an arbitrary draw, always within [half, 2 * half]
    halves = [500, 1000, 2000, 4000, 4000, 4000]
    assert high == [half + 65535 % (half + 1) for half in halves]
    for index in range(len(halves)):
        assert low[index] <= high[index] <= 2 * low[index]


def test_the_default_backoff_runs_from_one_second_to_a_minute():
    brokers = _brokers([A], Clock(), bits=65535)
    waits = [wait for _broker, wait in _attempts(brokers, 12)]
    assert waits[0] <= 1000 and max(waits) <= 60000 and waits[-1] >= 30000


def test_a_connection_that_held_moves_to_the_next_broker_at_once_and_resets_the_backoff():
    clock = Clock()
    brokers = _brokers([A, B, C], clock)
    _attempts(brokers, 6)  # two rounds failed: the backoff is at 4 s
    assert brokers.current() == A
    brokers.connected()
    clock.now += 10000
    assert brokers.lost() == 0  # its node died: the next one, no wait
    assert brokers.current() == B
    waits = [wait for _broker, wait in _attempts(brokers, 3)]
    assert waits == [0, 0, 500]  # a fresh start


def test_a_connection_dropped_at_once_counts_as_a_failed_attempt():
    clock = Clock()
    brokers = _brokers([A], clock)
    waits = []
    for _ in range(4):  # a broker that accepts and drops at once is no tight loop
        brokers.connected()
        clock.now += 50
        waits.append(brokers.lost())
    assert waits == [500, 1000, 2000, 4000]


def test_the_clock_may_wrap_while_connected():
    clock = Clock()
    brokers = _brokers([A, B], clock)
    clock.now = (1 << 30) - 1000  # ticks_ms wraps at 2**30 (cabinet.TICKS_PERIOD)
    brokers.connected()
    clock.now = 20000
    assert brokers.lost() == 0 and brokers.current() == B


def test_a_lost_network_starts_the_backoff_again():
    brokers = _brokers([A], Clock())
    _attempts(brokers, 5)
    brokers.network_lost()
    assert brokers.failed() == 500


def test_one_broker_is_a_list_of_one():
    brokers = _brokers([A], Clock())
    assert [broker for broker, _wait in _attempts(brokers, 3)] == [A, A, A]


# --- the config keys: `broker` (one URL) or `brokers` (a list), and the ack timeout ---


def _config_error(overrides):
    try:
        config.merge(overrides)
    except config.ConfigError as error:
        return str(error)
    return None


def test_broker_is_a_list_of_one_and_brokers_a_list_of_several():
    one = config.merge({"id": "bz-bc-001", "broker": "mqtt://10.0.0.1:1883"})
    assert config.broker_urls(one) == ["mqtt://10.0.0.1:1883"]
    nodes = ["mqtts://n1.example.org:8883", "mqtts://n2.example.org", "mqtts://n3.example.org"]
    several = config.merge({"id": "bz-bc-001", "brokers": nodes})
    assert config.broker_urls(several) == nodes
    assert [config.parse_broker(url)[1] for url in nodes] == [8883, 8883, 8883]


def test_a_bad_broker_list_is_refused_by_name():
    base = {"id": "bz-bc-001"}
    assert "broker" in _config_error(base)
    assert "not both" in _config_error(dict(base, broker="mqtt://a:1", brokers=["mqtt://b:1"]))
    assert "brokers" in _config_error(dict(base, brokers=[]))
    assert "brokers" in _config_error(dict(base, brokers="mqtt://a:1"))
    assert "brokers" in _config_error(dict(base, brokers=["mqtt://a:%d" % n for n in range(9)]))
    assert "mqtts://host:port, not 1883" in _config_error(dict(base, brokers=[1883]))
    assert "mqtts://host:port" in _config_error(dict(base, brokers=["mqtt://a:1", "http://b"]))


def test_the_ack_timeout_for_connack_and_puback_defaults_to_ten_seconds():
    merged = config.merge({"id": "bz-bc-001", "broker": "mqtt://10.0.0.1:1883"})
    assert merged["ack_timeout_ms"] == 10000
    assert "ack_timeout_ms" in _config_error(
        {"id": "bz-bc-001", "broker": "mqtt://a:1", "ack_timeout_ms": 0}
    )
