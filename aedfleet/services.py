"""Starts the real Mosquitto and InfluxDB 1.x on free loopback ports, and stops exactly those.

Used by the tests and by `aedfleet demo`. Every process is started by this module, known by
its PID, and asked to die with its parent (PR_SET_PDEATHSIG), so an interrupted test run does
not leave a broker behind and never touches a process it did not start.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

import httpx

from aedfleet.broker.accounts import COLLECTOR_USER, OPERATOR_USER
from aedfleet.broker.config import BrokerFiles, generate
from aedfleet.collector import mqttwire as wire

LOOPBACK: Final = "127.0.0.1"
# cabinets with broker accounts in every harness broker; others publish through the operator
DEFAULT_CABINETS: Final = ("bz-bc-001", "bz-bc-002", "bz-zh-004")
POOL: Final = 64  # test collectors' accounts made with each broker (fleet writers: twice that)
_PR_SET_PDEATHSIG: Final = 1
LISTEN_PORTS_FROM: Final = 10_000  # below: well-known and registered services' ports


class ServiceError(RuntimeError):
    """A local service could not be started; the message says which and where its log is."""


def free_port() -> int:
    """A loopback port nothing is bound to, chosen outside the kernel's ephemeral range: a port
    from that range can become the local end of any outgoing connection between this check and
    the listener's bind, which then fails ("Address already in use")."""
    ephemeral = _ephemeral_range()
    for _ in range(200):
        port = LISTEN_PORTS_FROM + secrets.randbelow(65536 - LISTEN_PORTS_FROM)
        if not ephemeral[0] <= port <= ephemeral[1] and _bindable(port):
            return port
    with socket.socket() as sock:  # the ephemeral range is all there is
        sock.bind((LOOPBACK, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _bindable(port: int) -> bool:
    """No socket holds the port, not even a connection in TIME_WAIT (no SO_REUSEADDR here)."""
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _require(command: str) -> str:
    path = shutil.which(command) or next(
        (p for p in (f"/usr/sbin/{command}", f"/usr/bin/{command}") if os.access(p, os.X_OK)),
        None,
    )
    if path is None:
        raise ServiceError(f"{command} is not installed; run `make setup` (Debian packages)")
    return path


class ManagedProcess:
    """One child process of ours: started, checked until ready, stopped by PID."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        ready: Callable[[], bool],
        env: dict[str, str] | None = None,
        own_log: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self._user = user  # run as this account (PostgreSQL refuses root), its own group only
        self._argv = argv
        self._own_log = own_log  # where the program writes its errors itself, if not stdout
        self._env = env
        self._log_path = log_path
        self._ready = ready
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 30.0) -> None:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self._env} if self._env else None,
                user=self._user,
                group=self._user,
                extra_groups=[] if self._user else None,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
                # a Ctrl-C at the terminal is for the programme, which then stops its children
                # in order (the demo's collector must not lose its broker mid-shutdown)
                process_group=0,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise ServiceError(f"{self.name} exited at start; see {self._log_path}"
                                   f"{self._last_lines()}")  # fmt: skip
            if self._ready():
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"{self.name} did not answer within {timeout_s} s; see {self._log_path}"
                           f"{self._last_lines()}")  # fmt: skip

    def _last_lines(self, count: int = 5) -> str:
        """The end of the log, for the error that names it: the cause, where CI shows only the
        error."""
        try:
            lines = (self._own_log or self._log_path).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "".join(f"\n  {line.encode('unicode_escape').decode()}" for line in lines[-count:])

    def stop(self, timeout_s: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)  # a frozen process cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def signal(self, signum: signal.Signals) -> None:
        if self._process is not None:
            os.kill(self._process.pid, signum)


def mqtt_answers(host: str, port: int, timeout_s: float = 2.0, **credentials: str) -> bool:
    """True once the broker returns a CONNACK that accepts us (a clean session, so it keeps
    nothing of this probe)."""
    hello = wire.connect(f"aedfleet-probe-{os.getpid()}", keepalive_s=5, clean_session=True,
                         username=credentials.get("username", ""),
                         password=credentials.get("password", ""))  # fmt: skip
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as connection:
            connection.sendall(hello)
            answer = b""
            while len(answer) < 4:  # CONNACK: fixed header 0x20 0x02, then flags and code
                chunk = connection.recv(4 - len(answer))
                if not chunk:
                    return False
                answer += chunk
            connection.sendall(b"\xe0\x00")  # DISCONNECT: no will, a clean goodbye
    except OSError:
        return False
    return answer[:2] == b"\x20\x02" and wire.connack_error(answer[2:]) is None


def influx_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ping", timeout=2.0).status_code == 204
    except httpx.HTTPError:
        return False


class Mosquitto:
    """Debian's Mosquitto with the configuration `aedfleet broker config` generates: per-cabinet
    accounts and ACL, no anonymous access, TLS on one port and plain MQTT on loopback on
    another, persistence and log in `workdir`."""

    def __init__(self, workdir: Path, cabinet_ids: Iterable[str] = DEFAULT_CABINETS) -> None:
        self.host = LOOPBACK
        self.port = free_port()
        self.tls_port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "mosquitto.log"
        self._workdir = workdir
        self._cabinet_ids = list(cabinet_ids)
        # accounts made up front: a SIGHUP while a restored persistent session is offline (a
        # broker just restarted) can drop what is queued for it, so adding one later is rare
        self._collectors = [
            COLLECTOR_USER,
            *(f"{COLLECTOR_USER}-t{n:02d}" for n in range(POOL)),
        ]
        self._fleet_writers = [f"harness-{n:03d}" for n in range(2 * POOL)]
        self._given: dict[str, str] = {}  # a test's name for an account -> the account
        self.files = self._generate()
        self.config_path = self.files.conf
        operator = OPERATOR_USER
        self.process = ManagedProcess(
            "mosquitto",
            [_require("mosquitto"), "-c", str(self.config_path)],
            workdir / "mosquitto.stdout",
            lambda: mqtt_answers(
                self.host, self.port, username=operator, password=self.password(operator)
            ),
            own_log=self.log_path,
        )

    def _generate(self) -> BrokerFiles:
        return generate(
            self._workdir / "broker",
            self._cabinet_ids,
            tls_port=self.tls_port,
            tls_bind=LOOPBACK,
            plain_port=self.port,
            persistence_dir=self._workdir,
            log_file=self.log_path,
            run_as=getpass.getuser(),
            collectors=self._collectors,
            fleet_writers=self._fleet_writers,
        )

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def password(self, username: str) -> str:
        return self.files.password(username)

    def fleet_writer(self, name: str) -> str:
        """The account of this harness named `name` by a test, which may read and write the
        whole fleet (as a simulator does). The broker takes the account as the client id, so
        every concurrent test client needs its own; each name keeps its account."""
        return self._account(f"writer:{name}", f"harness-{name}", collector=False)

    def collector_account(self, name: str) -> str:
        """A collector's pair of accounts (the one returned, and `-events`) for the test
        collector `name`: its persistent session is no other test's."""
        return self._account(f"collector:{name}", f"{COLLECTOR_USER}-{name}", collector=True)

    def _account(self, key: str, fresh: str, *, collector: bool) -> str:
        """The account given to `key` before, or a free one of the pool, or else `fresh`,
        added to the running broker."""
        if key not in self._given:
            pool = self._collectors[1:] if collector else self._fleet_writers
            free = [a for a in pool if a not in self._given.values()]
            self._given[key] = free[0] if free else self._add(fresh, collector=collector)
        return self._given[key]

    def _add(self, account: str, *, collector: bool) -> str:
        (self._collectors if collector else self._fleet_writers).append(account)
        self._generate()
        if self.process.running:
            self.process.signal(signal.SIGHUP)
            password = self.password(account)
            deadline = time.monotonic() + 10
            while not mqtt_answers(self.host, self.port, username=account, password=password):
                if time.monotonic() > deadline:
                    raise ServiceError(f"mosquitto did not take the new account {account}")
                time.sleep(0.05)
        return account

    def reload(self) -> None:
        """Reread the password file and ACL (SIGHUP), as after a rotation."""
        self.process.signal(signal.SIGHUP)
        time.sleep(0.2)  # Mosquitto reloads between network loop iterations


class InfluxDB:
    """Debian's InfluxDB 1.x (`influxd`) with data, WAL and meta in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        auth: bool = False,
        continuous_queries: bool = False,
    ) -> None:
        """With `auth`, InfluxDB demands credentials; create the first admin with
        `create_admin` once it runs (1.x allows that one statement unauthenticated). With
        `continuous_queries`, InfluxDB runs them (checked every second)."""
        self.host = LOOPBACK
        self.port = port or free_port()
        self.rpc_port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "influxdb.conf"
        self.config_path.write_text(
            f"""# written by aedfleet.services; one InfluxDB per test session or demo
reporting-disabled = true
bind-address = "{LOOPBACK}:{self.rpc_port}"

[meta]
  dir = "{workdir}/meta"

[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{LOOPBACK}:{self.port}"
  log-enabled = false
  auth-enabled = {"true" if auth else "false"}

[continuous_queries]
  enabled = {"true" if continuous_queries else "false"}
  run-interval = "1s"
"""
        )
        self.process = ManagedProcess(
            "influxd",
            [_require("influxd"), "-config", str(self.config_path)],
            workdir / "influxd.log",
            lambda: influx_answers(self.url),
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def create_admin(self, username: str, password: str) -> None:
        statement = f"CREATE USER \"{username}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES"
        httpx.post(f"{self.url}/query", params={"q": statement}).raise_for_status()


class LocalServices:
    """Both services, started together and stopped together."""

    def __init__(self, workdir: Path, cabinet_ids: Iterable[str] = DEFAULT_CABINETS) -> None:
        self.workdir = workdir
        self.mosquitto = Mosquitto(workdir / "mosquitto", cabinet_ids)
        self.influxdb = InfluxDB(workdir / "influxdb")

    def start(self) -> None:
        try:
            self.influxdb.process.start()
            self.mosquitto.process.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.mosquitto.process.stop()
        self.influxdb.process.stop()


@contextlib.contextmanager
def running_services(
    workdir: Path, cabinet_ids: Iterable[str] = DEFAULT_CABINETS
) -> Iterator[LocalServices]:
    services = LocalServices(workdir, cabinet_ids)
    services.start()
    try:
        yield services
    finally:
        services.stop()
