"""`aedfleet collect`: the collector service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="TOML configuration (see aedfleet/collector/aedfleet.sample.toml); defaults apply "
    "without it.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every connect and flush.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "logfmt", "json"]),
    default="text",
    show_default=True,
    help="One line per record on stdout; logfmt or json for journald and log shippers.",
)
def collect(config_path: Path | None, verbose: bool, log_format: str) -> None:
    """Run the collector: MQTT → validated → InfluxDB, with spool and dead letters.

    Example: AEDFLEET_INFLUX_PASSWORD=secret aedfleet collect --config aedfleet.toml
    """
    import logging

    from aedfleet.alerts.migrations import StoreVersionError
    from aedfleet.collector.config import ConfigError, load_config
    from aedfleet.collector.inventory import InventoryError, load_inventory
    from aedfleet.collector.service import Collector
    from aedfleet.logformat import configure

    configure(log_format, logging.INFO if verbose else logging.WARNING)
    try:
        config = load_config(config_path)
        inventory = load_inventory(Path(config.fleet.inventory))
        if config.ha.lease:  # the collector is made once this process holds the lease
            from aedfleet.ha.runner import lease_for, run_with_lease

            lease = lease_for(config)
        else:
            collector = Collector(config, inventory)
    except (ConfigError, InventoryError, OSError, ValueError, StoreVersionError) as error:
        raise click.ClickException(str(error)) from error
    import asyncio

    if config.ha.lease:
        raise SystemExit(asyncio.run(_until_signalled(
            lambda stop: run_with_lease(config, inventory, lease, stop))))  # fmt: skip
    asyncio.run(_until_signalled(collector.run))


async def _until_signalled(run: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return await run(stop)
