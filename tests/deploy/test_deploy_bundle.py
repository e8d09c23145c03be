"""`aedfleet deploy`: the folder it writes, its units checked by systemd itself."""

from __future__ import annotations

import getpass
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from aedfleet.collector.config import load_config
from aedfleet.dashboards.provisioning import ENVIRONMENT
from aedfleet.deploy.layout import COLLECTOR_UNIT, MOSQUITTO_UNIT
from tests.deploy.staging import environment_file, exec_start, run_deploy, unit_section

SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    layout = run_deploy(tmp_path / "server")
    units = [str(layout.units / COLLECTOR_UNIT), str(layout.units / MOSQUITTO_UNIT)]
    verified = subprocess.run([SYSTEMD_ANALYZE, "verify", *units], capture_output=True,
                              text=True, check=False)  # fmt: skip
    # verify prints a line for every unknown key or bad value even when it exits 0
    assert (verified.returncode, verified.stdout, verified.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("unit", "user"), [(COLLECTOR_UNIT, "aedfleet"), (MOSQUITTO_UNIT, getpass.getuser())]
)
def test_units_are_hardened_and_restart_on_failure(tmp_path: Path, unit: str, user: str) -> None:
    """Each runs as its own user (Mosquitto as --broker-user: here the test's own)."""
    service = unit_section(run_deploy(tmp_path / "server").units / unit)
    assert service["User"] == service["Group"] == user
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == service["PrivateTmp"] == "yes"
    assert service["Restart"] == "on-failure"
    assert service["StateDirectory"].startswith("aedfleet")


def test_secrets_only_in_the_0600_environment_file(tmp_path: Path) -> None:
    layout = run_deploy(tmp_path / "server", "--sms-provider", "aliyun")
    assert stat.S_IMODE(layout.environment.stat().st_mode) == 0o600
    secrets = environment_file(layout.environment)
    assert secrets["AEDFLEET_MQTT_PASSWORD"] and len(secrets["AEDFLEET_HTTP_TOKEN"]) >= 32
    assert secrets["AEDFLEET_ALIYUN_ACCESS_KEY_SECRET"] == ""  # the operator brings it
    shown = layout.collector_toml.read_text() + (layout.root / "README.txt").read_text()
    for unit in (COLLECTOR_UNIT, MOSQUITTO_UNIT):
        shown += (layout.units / unit).read_text()
    assert secrets["AEDFLEET_MQTT_PASSWORD"] not in shown
    assert secrets["AEDFLEET_HTTP_TOKEN"] not in shown
    # the configuration the unit runs with loads, with the secrets from the environment
    config = load_config(layout.collector_toml, secrets)
    assert config.mqtt.password == secrets["AEDFLEET_MQTT_PASSWORD"]
    assert config.alerts.state_dir.startswith(str(layout.state))


def test_a_second_deploy_keeps_every_secret_and_what_the_operator_added(tmp_path: Path) -> None:
    layout = run_deploy(tmp_path / "server", "--sms-provider", "twilio")
    with layout.environment.open("a") as env:
        env.write("AEDFLEET_TWILIO_AUTH_TOKEN=brought-by-the-operator\n")
    text = layout.environment.read_text().replace(
        "AEDFLEET_TWILIO_AUTH_TOKEN=\n", ""
    )  # the operator filled in the empty line
    layout.environment.write_text(text)
    before = environment_file(layout.environment)
    passwd = (layout.broker / "credentials.json").read_text()
    run_deploy(tmp_path / "server", "--sms-provider", "twilio")
    assert environment_file(layout.environment) == before
    assert (layout.broker / "credentials.json").read_text() == passwd


def test_the_folder_names_the_servers_paths_not_its_own(tmp_path: Path) -> None:
    server = tmp_path / "server"
    out = tmp_path / "out"
    run_deploy(server, out=out)
    conf = (out / "etc/aedfleet/broker/mosquitto.conf").read_text()
    assert str(out) not in conf and f"{server}/etc/aedfleet/broker/passwd" in conf
    assert exec_start(out / "etc/systemd/system" / COLLECTOR_UNIT)[2:4] == [
        "--config", f"{server}/etc/aedfleet/collector.toml"
    ]  # fmt: skip
    assert "cp -a etc/. /etc/" in (out / "README.txt").read_text()


def test_the_readme_makes_debians_influxdb_loopback_only(tmp_path: Path) -> None:
    """The README's sed turns Debian's commented default into a loopback bind."""
    readme = (run_deploy(tmp_path / "server").root / "README.txt").read_text()
    command = next(line for line in readme.splitlines() if "sed -i" in line)
    script = command.split("'")[1]
    conf = tmp_path / "influxdb.conf"
    conf.write_text(
        '[http]\n  # Determines whether HTTP endpoint is enabled.\n  # bind-address = ":8086"\n'
    )
    subprocess.run(["sed", "-i", script, str(conf)], check=True)
    assert '\n  bind-address = "127.0.0.1:8086"\n' in conf.read_text()


def test_grafana_gets_influxdbs_address_and_a_private_file_for_its_webhook(
    tmp_path: Path,
) -> None:
    layout = run_deploy(tmp_path / "server", "--influx-database", "fleet")
    dropin = layout.grafana_dropin.read_text()
    assert "Environment=AEDFLEET_INFLUX_DATABASE=fleet" in dropin
    assert f"EnvironmentFile={layout.grafana_environment}" in dropin
    assert stat.S_IMODE(layout.grafana_environment.stat().st_mode) == 0o600
    assert environment_file(layout.grafana_environment)["AEDFLEET_GRAFANA_ALERT_WEBHOOK"] == ""
    # every variable the provisioning files name is given
    given = dropin + layout.grafana_environment.read_text()
    assert all(name in given for name in ENVIRONMENT)
