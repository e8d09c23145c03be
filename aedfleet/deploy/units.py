"""The systemd units and sysusers entry of a deployment: pure text from the layout.

Hardening follows systemd.exec(5): a dedicated user, a read-only file system apart from the
unit's own StateDirectory, no privilege gain, private /tmp; restarts on failure,
at most 5 in 5 minutes (systemd.unit(5) StartLimitIntervalSec/StartLimitBurst, in [Unit]).
Both log to stdout/stderr, which journald keeps, rotates and caps in size: no log file grows
unwatched (Mosquitto's default log_dest is stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aedfleet.deploy.layout import (
    COLLECTOR_STATE,
    MOSQUITTO_STATE,
    MOSQUITTO_UNIT,
    NATS_STATE,
    NATS_USER,
    Layout,
    NodeLayout,
)

COLLECTOR_USER: Final = "aedfleet"
INFLUXDB_UNIT: Final = "influxdb.service"  # Debian's influxdb package

_HARDENING: Final = """\
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
UMask=0077
"""

_RESTART: Final = """\
Restart=on-failure
RestartSec=5
"""

_LIMITS: Final = """\
StartLimitIntervalSec=300
StartLimitBurst=5
"""


def collector_command(aedfleet: Path, layout: Layout) -> list[str]:
    return [str(aedfleet), "collect", "--config", str(layout.collector_toml), "--log-format",
            "logfmt"]  # fmt: skip


def collector_unit(aedfleet: Path, layout: Layout, *, local_broker: bool = True) -> str:
    """`local_broker`: Mosquitto on this host (not a cluster's nodes elsewhere)."""
    wanted = f"network-online.target{f' {MOSQUITTO_UNIT}' if local_broker else ''} {INFLUXDB_UNIT}"
    return f"""\
# written by aedfleet deploy: the collector (MQTT -> InfluxDB, alerts, SMS)
[Unit]
Description=aedfleet collector
Documentation=file://{layout.etc}/README.txt
Wants={wanted}
After={wanted}
{_LIMITS}
[Service]
Type=simple
User={COLLECTOR_USER}
Group={COLLECTOR_USER}
# secrets (broker password, API token, SMS provider keys): read by systemd as root, mode 0600
EnvironmentFile={layout.environment}
ExecStart={" ".join(collector_command(aedfleet, layout))}
StateDirectory={COLLECTOR_STATE}
StateDirectoryMode=0700
{_RESTART}TimeoutStopSec=60
{_HARDENING}
[Install]
WantedBy=multi-user.target
"""


def mosquitto_unit(mosquitto: Path, broker_user: str, layout: Layout) -> str:
    return f"""\
# written by aedfleet deploy: Mosquitto with the fleet's accounts, ACL and TLS
[Unit]
Description=aedfleet MQTT broker (Mosquitto)
Documentation=man:mosquitto.conf(5) file://{layout.etc}/README.txt
Wants=network-online.target
After=network-online.target
{_LIMITS}
[Service]
Type=notify
NotifyAccess=main
User={broker_user}
Group={broker_user}
ExecStart={mosquitto} -c {layout.broker / "mosquitto.conf"}
# reread the password file and ACL after `aedfleet broker rotate`
ExecReload=/bin/kill -HUP $MAINPID
StateDirectory={MOSQUITTO_STATE}
StateDirectoryMode=0700
{_RESTART}{_HARDENING}
[Install]
WantedBy=multi-user.target
"""


def nats_unit(nats_server: Path, node: NodeLayout) -> str:
    return f"""\
# written by aedfleet deploy: one node of the fleet's NATS JetStream cluster (docs/ha.md)
[Unit]
Description=aedfleet MQTT broker node (NATS JetStream)
Documentation=https://docs.nats.io/running-a-nats-service/configuration/mqtt
Wants=network-online.target
After=network-online.target
{_LIMITS}
[Service]
Type=simple
User={NATS_USER}
Group={NATS_USER}
ExecStart={nats_server} -c {node.conf}
# reread the accounts after a new deploy (TLS and accounts; ports need a restart)
ExecReload=/bin/kill -HUP $MAINPID
StateDirectory={NATS_STATE}
StateDirectoryMode=0700
LimitNOFILE=65536
{_RESTART}TimeoutStopSec=60
{_HARDENING}
[Install]
WantedBy=multi-user.target
"""


def grafana_dropin(influx_url: str, database: str, layout: Layout) -> str:
    """A drop-in for Debian's grafana-server.service: the environment the provisioning files
    read (aedfleet/dashboards/provisioning.py); ignored where Grafana is not installed."""
    return f"""\
# written by aedfleet deploy: what Grafana's aedfleet provisioning reads
[Service]
Environment=AEDFLEET_INFLUX_URL={influx_url}
Environment=AEDFLEET_INFLUX_DATABASE={database}
# AEDFLEET_INFLUX_USERNAME/_PASSWORD and AEDFLEET_GRAFANA_ALERT_WEBHOOK, mode 0600
EnvironmentFile={layout.grafana_environment}
"""


def sysusers_entry() -> str:
    """sysusers.d(5): the collector's system user, made by `systemd-sysusers`."""
    return (
        "# written by aedfleet deploy: the collector's own user, no login\n"
        f'u {COLLECTOR_USER} - "aedfleet collector" /var/lib/{COLLECTOR_STATE}\n'
    )
