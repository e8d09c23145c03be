"""The README.txt of a deployment folder: the exact commands that install it on the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aedfleet.dashboards.grafana_host import GRAFANA_DASHBOARDS_PATH
from aedfleet.deploy.layout import COLLECTOR_UNIT, MOSQUITTO_UNIT, Layout
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
    return f"""aedfleet deployment for {", ".join(options.hostnames)}: {cabinets} cabinets
===========================================================================

This folder is laid out as the server's file system. It holds secrets: keep it root's.

  etc/aedfleet/collector.toml     the collector's configuration (no secrets)
  etc/aedfleet/aedfleet.env       secrets, mode 0600: broker password, API token, SMS keys
  etc/aedfleet/inventory.csv      the cabinet inventory
  etc/aedfleet/grafana.env        Grafana's secrets, mode 0600: the alert webhook URL
  etc/aedfleet/broker/            Mosquitto: mosquitto.conf, passwd, acl, TLS; credentials.json
                                  holds every cabinet's password (for `aedfleet firmware config`)
  etc/systemd/system/             {COLLECTOR_UNIT}, {MOSQUITTO_UNIT},
                                  grafana-server.service.d/aedfleet.conf
  etc/sysusers.d/aedfleet.conf    the collector's system user `{COLLECTOR_USER}`
  grafana/                        Grafana provisioning and dashboards

Install (as root, from this folder)
-----------------------------------
1. Debian packages (InfluxDB 1.x and Mosquitto; Debian's mosquitto service is replaced by
   {MOSQUITTO_UNIT}):

     apt-get install mosquitto influxdb
     systemctl disable --now mosquitto.service
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
     systemctl enable --now influxdb.service {MOSQUITTO_UNIT} {COLLECTOR_UNIT}

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
     systemctl status {MOSQUITTO_UNIT} {COLLECTOR_UNIT}
     journalctl -u {COLLECTOR_UNIT} -f        (one logfmt line per event)
     journalctl -u {MOSQUITTO_UNIT}
     sh -c 'set -a; . {server.environment}; exec {doctor}'
   (one line per check, with what to fix; exit 1 when one fails: run it from monitoring)

Cabinets connect to mqtts://{options.hostnames[0]}:{options.tls_port} with the CA in
{etc}/broker/ca.crt and their passwords from credentials.json; move ca.key off this host once
the cabinets' certificates are made (docs/security.md).

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
"""
