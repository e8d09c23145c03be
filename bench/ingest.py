"""Ingest benchmark: how close the collector comes to the broker's own delivery rate.

Every contender drains the same kind of backlog: N QoS 1 telemetry messages from 10,000 cabinet
ids, queued by the real Mosquitto for the contender's persistent session while it was away.
That isolates the consumer from the publisher. Contenders, all in this one run:
  mosquitto_sub   the C client, counting: the ceiling
  bare paho       a paho-mqtt subscriber that only counts
  collector       `aedfleet collect` restarted after an outage, as in the field: it has run
                  before and knows every cabinet (its alert state kept), and finds the backlog;
                  validate, enrich, alert engine, batch, InfluxDB, ack after the write; timed
                  from its first message to the last point queryable in InfluxDB
  first start     the same on a collector's very first start: every cabinet is new, so each
                  one's readiness, state snapshot and device facts are written once as well
  naive           paho + one InfluxDB write per message, as tutorials do
  previous        the collector as it was before the ingest issue's first change (`--previous`,
                  from this clone's history), restarted alike: "no slower than before" is its
                  CPU per message against today's in the same rounds, not a figure of another day

The shared cores make any one drain's pace and CPU swing by a third between runs, so the bare
paho subscriber, the restarted collector and the previous one drain in turns, `--rounds`
times, each round a new backlog (and a new database for each collector), and the best round of
each is compared: the machine's other load only ever adds.

Run: .venv/bin/python -m bench.ingest [--messages 100000] [--rounds 5] [--previous COMMIT]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

import httpx
import paho.mqtt.client as mqtt

from aedfleet.broker.files import write_private
from aedfleet.collector.topics import subscription, topic_for
from aedfleet.services import LocalServices, ManagedProcess
from bench._previous_collector import PREVIOUS_COLLECTOR, PreviousCollector, add_listener, checkout
from tests.support.harness import (
    CollectorProcess,
    Publisher,
    cabinet_ids,
    count,
    operator_client,
    telemetry_payload,
    telemetry_stream,
    wait_for,
)

TOPIC = subscription("telemetry")
# each cabinet's first two messages (a reading and its birth) are the ones a known fleet's
# collector saw before the outage; the backlog is what followed them
PRIMING_SEQS = 2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def register_session(services: LocalServices, client_id: str) -> None:
    """Subscribe once with a persistent session, so the broker queues the backlog for it."""
    client = operator_client(services, client_id, clean_session=False)
    client.loop_start()
    client.subscribe(TOPIC, qos=1)
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()


def backlog(ids: list[str], messages: int, start_ms: int) -> list[tuple[str, bytes]]:
    """`messages` readings round-robin over the cabinets, one a second each, after the priming
    messages' sequence numbers."""
    per_cabinet = -(-messages // len(ids))
    stream = telemetry_stream(ids, per_cabinet, start_ms, first_seq=PRIMING_SEQS)
    return list(itertools.islice(stream, messages))


def priming(ids: list[str], start_ms: int) -> list[tuple[str, bytes]]:
    """What a known fleet's collector saw before the outage: a reading and a birth each."""
    readings = [(topic_for(i, "telemetry"), telemetry_payload(i, 0, start_ms - 2000)) for i in ids]
    births = [
        (topic_for(i, "status"),
         b'{"v":1,"id":"%s","seq":1,"ts":%d,"sync":true,"state":"online","fw":"1.0.0"}'
         % (i.encode(), start_ms - 1000))
        for i in ids
    ]  # fmt: skip
    return readings + births


def publish(services: LocalServices, messages: list[tuple[str, bytes]]) -> int:
    publisher = Publisher(services, client_id="bench-publisher")
    sent = publisher.publish_all(iter(messages))
    publisher.close()
    return sent


def paho_counter(
    services: LocalServices,
    client_id: str,
    expected: int,
    on_each: Callable[[mqtt.MQTTMessage], None] | None = None,
) -> tuple[float, float]:
    """Drain the backlog with paho; returns (seconds first→last message, CPU seconds)."""
    done = threading.Event()
    received = 0
    first = 0.0

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        nonlocal received, first
        if received == 0:
            first = time.perf_counter()
        if on_each is not None:
            on_each(message)
        received += 1
        if received >= expected:
            done.set()

    client = operator_client(services, client_id, connect=False, clean_session=False)
    client.on_message = on_message
    cpu_before = time.process_time()
    client.connect(services.mosquitto.host, services.mosquitto.port)
    client.loop_start()
    done.wait(600)
    elapsed = time.perf_counter() - first
    cpu = time.process_time() - cpu_before
    client.disconnect()
    client.loop_stop()
    return elapsed, cpu


def mosquitto_sub(services: LocalServices, expected: int) -> float:
    # the session register_session made; the password goes in mosquitto_sub's own options
    # file (mode 600), never on a command line that `ps` shows
    account = services.mosquitto.fleet_writer("bench-c")
    argv = [
        "mosquitto_sub", "-h", services.mosquitto.host, "-p", str(services.mosquitto.port),
        "-q", "1", "-c", "-i", account, "-t", TOPIC, "-C", str(expected),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as config_home:
        options = f"-u {account}\n-P {services.mosquitto.password(account)}\n"
        write_private(Path(config_home) / "mosquitto_sub", options.encode())
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, timeout=600,
                       env={**os.environ, "XDG_CONFIG_HOME": config_home})  # fmt: skip
        return time.perf_counter() - started


class Contender(Protocol):
    """A collector process of either tree: started, stopped, asked for its metrics."""

    process: ManagedProcess
    ready_when: Literal["subscribed", "answering"]
    database: str

    def metrics(self) -> str: ...


def received(collector: Contender) -> int:
    for line in collector.metrics().splitlines():
        name, _, value = line.partition(" ")
        if name == "aedfleet_collector_messages_received_total":
            return int(float(value))
    return 0


def drain(
    services: LocalServices,
    collector: Contender,
    ids: list[str],
    expected: int,
    start_ms: int,
    *,
    known_fleet: bool,
) -> tuple[float, float]:
    """The collector's first start (which registers its persistent session), an outage in
    which the backlog is queued, and its restart: (seconds from its first message to the last
    point queryable, CPU seconds of the restarted process)."""
    collector.process.start()
    if known_fleet:  # it runs a while before the outage: every cabinet reports, its state kept
        sent = publish(services, priming(ids, start_ms))
        wait_for(lambda: received(collector) >= sent, 300, "the priming messages")
    collector.process.stop()
    database = collector.database
    stored_before = count(services.influxdb.url, database, "telemetry")
    publish(services, backlog(ids, expected, start_ms))
    collector.ready_when = "answering"  # the broker sends the backlog before the SUBACK
    collector.process.start()
    pid = collector.process.pid
    assert pid is not None
    try:
        cpu_before = cpu_seconds(pid)
        while received(collector) == 0:
            time.sleep(0.005)
        first = time.perf_counter()
        while count(services.influxdb.url, database, "telemetry") < stored_before + expected:
            time.sleep(0.05)
        elapsed = time.perf_counter() - first
        return elapsed, cpu_seconds(pid) - cpu_before
    finally:
        collector.process.stop()


class Previous(NamedTuple):
    """The earlier collector's tree, and the broker port it connects to."""

    tree: Path
    port: int


def run_previous(
    services: LocalServices, previous: Previous, workdir: Path, ids: list[str], expected: int,
    start_ms: int, database: str,
) -> tuple[float, float]:  # fmt: skip
    collector = PreviousCollector(
        previous.tree, services.mosquitto, previous.port, services.influxdb.url, workdir,
        database=database, ids=ids,
    )  # fmt: skip
    collector.register_sessions()
    return drain(services, collector, ids, expected, start_ms, known_fleet=True)


def naive(services: LocalServices, ids: list[str], expected: int, start_ms: int) -> float:
    url = f"{services.influxdb.url}/write"
    httpx.post(f"{services.influxdb.url}/query", params={"q": "CREATE DATABASE naive"})
    http = httpx.Client()
    register_session(services, "bench-naive")
    publish(services, backlog(ids, expected, start_ms))

    def write_one(message: mqtt.MQTTMessage) -> None:
        cabinet = message.topic.split("/")[2]
        line = f"telemetry,cabinet={cabinet} raw=1i {time.time_ns() // 1_000_000}"
        http.post(url, params={"db": "naive", "precision": "ms"}, content=line)

    elapsed, _cpu = paho_counter(services, "bench-naive", expected, write_one)
    http.close()
    return elapsed


class Round(NamedTuple):
    """One round's drains, each (seconds, CPU seconds): the bare paho subscriber, the restarted
    collector and, when this clone has its commit, the earlier collector restarted alike."""

    paho: tuple[float, float]
    collector: tuple[float, float]
    previous: tuple[float, float] | None


def both_collectors(
    services: LocalServices, tmp: Path, ids: list[str], n: int, round_ms: int, number: int,
    previous: Previous | None,
) -> tuple[tuple[float, float], tuple[float, float] | None]:  # fmt: skip
    """Today's collector and the previous one, each on this round's backlog; which drains first
    alternates round by round, so neither always follows the other's load on InfluxDB."""

    def today() -> tuple[float, float]:
        collector = CollectorProcess(services, tmp / f"c{number}", database=f"bench_{number}",
                                     ids=ids)  # fmt: skip
        return drain(services, collector, ids, n, round_ms, known_fleet=True)

    def before() -> tuple[float, float] | None:
        if previous is None:
            return None
        return run_previous(services, previous, tmp / f"p{number}", ids, n, round_ms,
                            f"bench_previous_{number}")  # fmt: skip

    if number % 2 == 0:
        first = today()
        return first, before()
    earlier = before()
    return today(), earlier


def rounds(
    services: LocalServices,
    tmp: Path,
    ids: list[str],
    n: int,
    start_ms: int,
    count: int,
    previous: Previous | None,
) -> list[Round]:
    """The contenders in turns, each round on a backlog of its own (later readings, a database
    of its own)."""
    done = []
    for number in range(count):
        round_ms = start_ms + number * 3_600_000
        session = f"bench-paho-{number}"  # first in its queue: this round's backlog
        register_session(services, session)
        publish(services, backlog(ids, n, round_ms))
        paho = paho_counter(services, session, n)
        operator_client(services, session, clean_session=True).disconnect()  # queue no more
        collector, earlier = both_collectors(services, tmp, ids, n, round_ms, number, previous)
        done.append(Round(paho, collector, earlier))
        line = (f"  round {number + 1}: bare paho {n / paho[0]:9,.0f} msgs/s "
                f"{paho[1] / n * 1e6:5.1f} us/msg; collector {n / collector[0]:9,.0f} msgs/s "
                f"{collector[1] / n * 1e6:5.1f} us/msg")  # fmt: skip
        if earlier is not None:
            line += f"; earlier {earlier[1] / n * 1e6:5.1f} us/msg"
        print(line, flush=True)
    return done


class Drains(NamedTuple):
    """Everything one run measured."""

    mosquitto_sub_s: float
    turns: list[Round]
    first: tuple[float, float]  # the collector's very first start
    naive_s: float


def measure(args: argparse.Namespace, ids: list[str], start_ms: int) -> Drains:
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        services = LocalServices(Path(tmp) / "s")
        tree = checkout(args.previous, Path(tmp) / "previous") if args.previous else None
        previous = Previous(tree, add_listener(services.mosquitto)) if tree else None
        services.start()
        try:
            register_session(services, "bench-c")
            publish(services, backlog(ids, n, start_ms))  # the C client's
            c_s = mosquitto_sub(services, n)
            operator_client(services, "bench-c", clean_session=True).disconnect()
            turns = rounds(services, Path(tmp), ids, n, start_ms, args.rounds, previous)
            fresh = CollectorProcess(services, Path(tmp) / "f", database="bench_first", ids=ids)
            first = drain(services, fresh, ids, n, start_ms, known_fleet=False)
            naive_s = naive(services, ids, args.naive_messages, start_ms)
        finally:
            services.stop()
    return Drains(c_s, turns, first, naive_s)


def report(args: argparse.Namespace, drains: Drains) -> None:
    n, turns = args.messages, drains.turns
    paho_s = min(turn.paho[0] for turn in turns)
    collector_s = min(turn.collector[0] for turn in turns)
    rates = {
        "mosquitto_sub (C)": n / drains.mosquitto_sub_s,
        "bare paho subscriber": n / paho_s,
        "aedfleet collector": n / collector_s,
        "  on its first start": n / drains.first[0],
        "naive collector": args.naive_messages / drains.naive_s,
    }
    print(f"best of {len(turns)} rounds (the naive collector drains {args.naive_messages}, once)")
    for name, rate in rates.items():
        print(f"  {name:22s} {rate:10,.0f} msgs/s")
    paho_cpu = min(turn.paho[1] for turn in turns)
    collector_cpu = min(turn.collector[1] for turn in turns)
    print(f"  bare paho CPU           {paho_cpu / n * 1e6:8.1f} us/msg")
    print(f"  collector CPU           {collector_cpu / n * 1e6:8.1f} us/msg (whole process)")
    print(f"    on its first start    {drains.first[1] / n * 1e6:8.1f} us/msg")
    collector_rate = rates["aedfleet collector"]
    paho_ratio = collector_rate / rates["bare paho subscriber"]
    naive_ratio = collector_rate / rates["naive collector"]
    print(f"collector / bare paho      {paho_ratio:6.2f}  (target >= 0.90)")
    each = sorted(turn.paho[0] / turn.collector[0] for turn in turns)
    print(f"  round by round           {' '.join(f'{ratio:.2f}' for ratio in each)}")
    first_ratio = rates["  on its first start"] / rates["bare paho subscriber"]
    print(f"  on its first start       {first_ratio:6.2f}")
    print(f"collector / naive          {naive_ratio:6.1f}x (target >= 25x)")
    print(f"collector / mosquitto_sub  {collector_rate / rates['mosquitto_sub (C)']:6.2f}")
    report_previous(args, turns)


def report_previous(args: argparse.Namespace, turns: list[Round]) -> None:
    """Today's collector against the earlier one: CPU per message, best round of each."""
    pairs = [(turn.collector[1], turn.previous[1]) for turn in turns if turn.previous]
    if not pairs:
        print(f"CPU / previous collector   not measured: this clone lacks {args.previous or 'it'}")
        return
    collector_cpu = min(today for today, _before in pairs)
    previous_cpu = min(before for _today, before in pairs)
    print(f"  previous collector CPU  {previous_cpu / args.messages * 1e6:8.1f} us/msg "
          f"(at {args.previous[:7]}, restarted alike)")  # fmt: skip
    print(f"CPU / previous collector   {collector_cpu / previous_cpu:6.2f}  (target <= 1.10)")
    each = sorted(today / before for today, before in pairs)
    print(f"  round by round           {' '.join(f'{ratio:.2f}' for ratio in each)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--cabinets", type=int, default=10_000)
    parser.add_argument("--naive-messages", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--previous", default=PREVIOUS_COLLECTOR,
                        help="the earlier collector's commit ('' for none)")  # fmt: skip
    args = parser.parse_args()
    ids = cabinet_ids(args.cabinets)
    start_ms = time.time_ns() // 1_000_000 - 86_400_000
    sample = backlog(ids, 1, start_ms)[0][1]
    print(f"QoS 1, {args.messages} messages of {len(sample)} bytes from {len(ids):,} cabinets")
    report(args, measure(args, ids, start_ms))


if __name__ == "__main__":
    main()
