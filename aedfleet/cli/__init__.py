"""The `aedfleet` command: one module per command group, each importing what it needs only
when it runs, so `aedfleet --help` loads little."""

from __future__ import annotations

import click

from aedfleet.cli.alerts import alerts
from aedfleet.cli.backup import backup, restore
from aedfleet.cli.broker import broker_group
from aedfleet.cli.collect import collect
from aedfleet.cli.dashboards import dashboards
from aedfleet.cli.demo import demo
from aedfleet.cli.deploy import deploy
from aedfleet.cli.doctor import doctor
from aedfleet.cli.firmware import firmware
from aedfleet.cli.simulate import simulate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Fleet monitoring for public-access AED cabinets.

    Example: aedfleet demo
    """


for command in (
    collect,
    demo,
    simulate,
    dashboards,
    firmware,
    broker_group,
    alerts,
    deploy,
    backup,
    restore,
    doctor,
):
    main.add_command(command)
