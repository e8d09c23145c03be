"""`aedfleet deploy`: one folder holding everything a Debian server needs, laid out as the
server's file system (`etc/aedfleet`, `etc/systemd/system`, `etc/sysusers.d`), plus the Grafana
provisioning and a README.txt with the commands that install it.

Secrets are generated here and go only into `etc/aedfleet/aedfleet.env` (mode 0600, read by
systemd as root) and the broker folder; the operator adds just the SMS provider's keys.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any, Final

import msgspec

from aedfleet.broker.accounts import COLLECTOR_USER as BROKER_COLLECTOR
from aedfleet.broker.config import generate
from aedfleet.broker.files import write_private
from aedfleet.collector.inventory import load_inventory
from aedfleet.dashboards import provisioning
from aedfleet.dashboards.site import site_from
from aedfleet.deploy.cluster import ClusterOptions, broker_urls, collector_password, write_cluster
from aedfleet.deploy.layout import COLLECTOR_UNIT, MOSQUITTO_UNIT, Layout
from aedfleet.deploy.readme import readme_text
from aedfleet.deploy.units import (
    collector_unit,
    grafana_dropin,
    mosquitto_unit,
    sysusers_entry,
)

HTTP_TOKEN_BYTES: Final = 32
STORE_PASSWORD: Final = "AEDFLEET_ALERTS_STORE_PASSWORD"
PROVIDER_SECRETS: Final = {
    "twilio": ("AEDFLEET_TWILIO_ACCOUNT_SID", "AEDFLEET_TWILIO_AUTH_TOKEN",
               "AEDFLEET_TWILIO_SENDER"),
    "aliyun": ("AEDFLEET_ALIYUN_ACCESS_KEY_ID", "AEDFLEET_ALIYUN_ACCESS_KEY_SECRET",
               "AEDFLEET_ALIYUN_SIGN_NAME", "AEDFLEET_ALIYUN_TEMPLATE_CODE"),
}  # fmt: skip


class DeployOptions(msgspec.Struct, frozen=True, kw_only=True):
    hostnames: tuple[str, ...]
    root: Path = Path("/")  # where the server's file system is; a test stages it in a folder
    aedfleet: Path  # the installed `aedfleet` command the collector unit runs
    mosquitto: Path = Path("/usr/sbin/mosquitto")
    broker_user: str = "mosquitto"  # Debian's mosquitto package makes it
    tls_port: int = 8883
    plain_port: int = 1883  # 127.0.0.1 only: the collector's connection
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "aedfleet"
    http_listen: str = "127.0.0.1:9108"
    sms_provider: str = "none"
    duty_officers: tuple[str, ...] = ()
    cluster: ClusterOptions | None = None  # the broker as a NATS cluster, not one Mosquitto
    alerts_store: str = ""  # PostgreSQL: the shared alert store, and active/standby collectors


def write_bundle(out: Path, inventory: Path, options: DeployOptions) -> list[Path]:
    """Write the deployment into `out`; run again (an upgrade, a changed inventory), it keeps
    every password and token it made before. Returns the files written."""
    server = Layout(options.root)
    here = Layout(out)
    here.etc.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(inventory, here.inventory)
    here.inventory.chmod(0o640)  # guardians' phone numbers: root and the collector's group
    cabinets = sorted(load_inventory(here.inventory))
    local_broker = options.cluster is None
    units = {COLLECTOR_UNIT: collector_unit(options.aedfleet, server, local_broker=local_broker)}
    if options.cluster is None:
        broker_password, broker_written = _mosquitto(here, server, cabinets, options)
        units[MOSQUITTO_UNIT] = mosquitto_unit(options.mosquitto, options.broker_user, server)
    else:
        credentials, broker_written = write_cluster(
            out, cabinets, options.cluster, hostnames=options.hostnames, root=options.root
        )
        shutil.copyfile(out / "cluster-ca" / "ca.crt", here.cluster_ca)
        broker_password = collector_password(credentials)
        broker_written.append(here.cluster_ca)
    here.collector_toml.write_text(collector_toml(server, options))
    _write_environment(here.environment, broker_password, options)
    here.units.mkdir(parents=True, exist_ok=True)
    for name, text in units.items():
        (here.units / name).write_text(text)
    here.grafana_dropin.parent.mkdir(parents=True, exist_ok=True)
    here.grafana_dropin.write_text(
        grafana_dropin(options.influx_url, options.influx_database, server)
    )
    _write_grafana_environment(here.grafana_environment)
    here.sysusers.parent.mkdir(parents=True, exist_ok=True)
    here.sysusers.write_text(sysusers_entry())
    written = [here.collector_toml, here.environment, here.inventory, here.sysusers,
               here.grafana_dropin, here.grafana_environment,
               *(here.units / name for name in units), *broker_written]  # fmt: skip
    written += _grafana(out / "grafana", here.collector_toml)
    readme = out / "README.txt"
    readme.write_text(readme_text(options, server, cabinets=len(cabinets)))
    return [*written, readme]


def _mosquitto(
    here: Layout, server: Layout, cabinets: list[str], options: DeployOptions
) -> tuple[str, list[Path]]:
    """The one broker's folder; the collector's password and the files written."""
    broker = generate(
        here.broker,
        cabinets,
        tls_port=options.tls_port,
        plain_port=options.plain_port,
        hostnames=options.hostnames,
        persistence_dir=server.mosquitto_state,
        run_as=options.broker_user,
        group=options.broker_user,
    )
    _point_broker_config_at(here.broker / "mosquitto.conf", here.broker, server.broker)
    return broker.password(BROKER_COLLECTOR), sorted(here.broker.iterdir())


def _point_broker_config_at(conf: Path, written: Path, installed: Path) -> None:
    """The broker folder is written under --out but read by Mosquitto where it is installed."""
    if written != installed:
        conf.write_text(conf.read_text().replace(f"{written}/", f"{installed}/"))


def collector_toml(server: Layout, options: DeployOptions) -> str:
    mqtt: dict[str, Any] = (
        {"url": f"mqtt://127.0.0.1:{options.plain_port}", "username": BROKER_COLLECTOR}
        if options.cluster is None
        else {
            "urls": broker_urls(options.cluster),
            "username": BROKER_COLLECTOR,
            "ca_file": str(server.cluster_ca),
        }
    )
    sections: dict[str, dict[str, Any]] = {
        "mqtt": mqtt,
        "influx": {"url": options.influx_url, "database": options.influx_database},
        "spool": {"dir": str(server.state / "spool")},
        "fleet": {"inventory": str(server.inventory)},
        "http": {"listen": options.http_listen},
        "alerts": {"state_dir": str(server.state / "state")}
        | ({"store": options.alerts_store} if options.alerts_store else {}),
        "notify": {"sms_provider": options.sms_provider,
                   "duty_officers": list(options.duty_officers)},
    }  # fmt: skip
    if options.alerts_store:  # two collectors share the store: one runs, one waits
        sections["ha"] = {"lease": True}
    lines = [
        "# written by aedfleet deploy; secrets are in aedfleet.env, every other key and its",
        "# default is in aedfleet/collector/aedfleet.sample.toml",
    ]
    for name, values in sections.items():
        lines += ["", f"[{name}]", *(f"{k} = {json.dumps(v)}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def _existing(environment: Path) -> dict[str, str]:
    if not environment.exists():
        return {}
    pairs = (line.partition("=") for line in environment.read_text().splitlines())
    return {k: v for k, sep, v in pairs if sep and not k.startswith("#")}


def _write_environment(path: Path, broker_password: str, options: DeployOptions) -> None:
    provider = options.sms_provider
    kept = _existing(path)
    values = {
        "AEDFLEET_MQTT_PASSWORD": broker_password,
        "AEDFLEET_HTTP_TOKEN": kept.get("AEDFLEET_HTTP_TOKEN")
        or secrets.token_urlsafe(HTTP_TOKEN_BYTES),
    }
    lines = ["# written by aedfleet deploy: secrets only; mode 0600, read by systemd as root"]
    lines += [f"{k}={v}" for k, v in values.items()]
    asked: list[str] = []  # what the operator fills in: kept from the last run
    if options.alerts_store:
        lines.append("# the alert store's PostgreSQL password (--alerts-store)")
        asked.append(STORE_PASSWORD)
        lines.append(f"{STORE_PASSWORD}={kept.get(STORE_PASSWORD, '')}")
    keys = PROVIDER_SECRETS.get(provider, ())
    if keys:
        lines.append(f"# {provider}: fill in the keys the provider gave you, then restart")
    for name in keys:
        asked.append(name)
        lines.append(f"{name}={kept.get(name, '')}")
    extra = [f"{k}={v}" for k, v in kept.items() if k not in values and k not in asked]
    write_private(path, ("\n".join(lines + extra) + "\n").encode())


def _write_grafana_environment(path: Path) -> None:
    """The operator's Grafana secrets, kept across runs: the alert webhook (the dead-man
    rules' contact point) and InfluxDB's credentials when it has any."""
    kept = _existing(path)
    names = ("AEDFLEET_GRAFANA_ALERT_WEBHOOK", "AEDFLEET_INFLUX_USERNAME",
             "AEDFLEET_INFLUX_PASSWORD")  # fmt: skip
    lines = ["# written by aedfleet deploy: Grafana's secrets; fill in the webhook URL your "
             "pager or chat takes alerts at"]  # fmt: skip
    lines += [f"{name}={kept.get(name, '')}" for name in names]
    write_private(path, ("\n".join(lines) + "\n").encode())


def _grafana(out: Path, collector_toml_path: Path) -> list[Path]:
    return provisioning.build(out, None, site_from(collector_toml_path))
