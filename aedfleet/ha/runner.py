"""`aedfleet collect` with `[ha] lease = true`: a standby until this process holds the leader
lease, then the collector as always; the moment it no longer holds the lease it exits, non-zero
and at once (systemd starts it again, as a standby), so two collectors never run together.

The check that ends it runs in a thread of its own, on the monotonic clock, so a blocked event
loop (a statement waiting on a dead database) cannot keep it acting past its tenure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Final

from aiohttp import web

from aedfleet.alerts.migrations import StoreVersionError
from aedfleet.collector.config import CollectorConfig, ConfigError
from aedfleet.collector.inventory import Inventory
from aedfleet.ha.lease import Lease
from aedfleet.ha.tenure import Terms
from aedfleet.sqldb import connect_postgresql, is_postgresql

log = logging.getLogger("aedfleet.ha")
LEASE_LOST_EXIT: Final = 75  # EX_TEMPFAIL: started again, it waits as a standby
WATCH_EVERY_S: Final = 0.05


def lease_for(config: CollectorConfig) -> Lease:
    """The collector's lease in its PostgreSQL store; ConfigError without one."""
    if not is_postgresql(config.alerts.store):
        raise ConfigError("[ha] lease needs the shared store: [alerts] store = postgresql://...")
    ha = config.ha
    url, password = config.alerts.store, config.alerts.store_password
    return Lease(lambda: connect_postgresql(url, password),
                 terms=Terms(ha.ttl_s, ha.renew_every_s, ha.margin_s))  # fmt: skip


def _lost(lease: Lease) -> None:
    log.critical("lease %s: no longer held by %s: exiting at once", lease.name, lease.holder)
    logging.shutdown()
    os._exit(LEASE_LOST_EXIT)


def watch(
    lease: Lease, done: threading.Event, lost: Callable[[Lease], None] = _lost,
    every_s: float = WATCH_EVERY_S,
) -> None:  # fmt: skip
    """Until `done`: the moment the lease is no longer held, `lost` (by default: exit)."""
    while not done.wait(every_s):
        if not lease.leads():
            lost(lease)
            return


async def _serve_standby(listen: str, lease: Lease) -> web.AppRunner | None:
    """/healthz while waiting: 503, "standby" (a load balancer or probe sends nothing here)."""
    if not listen:
        return None
    host, _, port = listen.rpartition(":")

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"role": "standby", "lease": lease.name,
                                  "holder": lease.holder}, status=503)  # fmt: skip

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, int(port)).start()
    return runner


async def _acquired(lease: Lease, stop: asyncio.Event) -> bool:
    """Ask for the lease at the renewal pace until it is ours (True) or we are stopped."""
    log.warning("standby: waiting for the lease %s, asking every %s s as %s",
                lease.name, lease.terms.renew_every_s, lease.holder)  # fmt: skip
    while not await asyncio.to_thread(lease.attempt):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), lease.terms.renew_every_s)
        if stop.is_set():
            return False
    log.warning("active: holding the lease %s as %s", lease.name, lease.holder)
    return True


async def _keep(lease: Lease) -> None:
    while True:
        await asyncio.sleep(lease.terms.renew_every_s)
        if not await asyncio.to_thread(lease.attempt):
            _lost(lease)  # taken by another, or run out: the watch may not have seen it yet


async def run_with_lease(config: CollectorConfig, inventory: Inventory, lease: Lease,
                         stop: asyncio.Event) -> int:  # fmt: skip
    """The exit status: 0 after a stop, 1 when the collector cannot start."""
    from aedfleet.collector.service import Collector  # noqa: PLC0415 - once active only

    standby = await _serve_standby(config.http.listen, lease)
    try:
        active = await _acquired(lease, stop)
    finally:
        if standby is not None:
            await standby.cleanup()
    if not active:
        await asyncio.to_thread(lease.release)
        return 0
    done = threading.Event()
    watcher = threading.Thread(target=watch, args=(lease, done), name="lease-watch", daemon=True)
    watcher.start()
    keeping = asyncio.create_task(_keep(lease))
    try:
        try:
            # opened only now: the store's state is what the last active collector left
            collector = Collector(config, inventory)
        except (StoreVersionError, OSError, ValueError) as error:
            log.error("cannot start: %s", error)
            return 1
        await collector.run(stop)
        return 0
    finally:
        keeping.cancel()
        await asyncio.gather(keeping, return_exceptions=True)
        done.set()
        watcher.join()
        await asyncio.to_thread(lease.release)  # a standby takes over at its next try
