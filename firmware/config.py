# Firmware configuration: defaults here, the board's own values in config.json (written by
# `aedfleet firmware config CABINET_ID`), and what the server's retained `config` message set.

import json

import cabinet

FIRMWARE_VERSION = "1.0.0"

DEFAULTS = {
    "id": None,  # the cabinet id: also the MQTT client id and username
    "broker": None,  # mqtt://host:port
    "username": "",
    "password": "",
    "prefix": "aed",
    "wifi_ssid": "",
    "wifi_password": "",
    "power": "mains",  # or "battery": deep sleep between heartbeats
    "keepalive_s": 30,
    "connect_timeout_ms": 5000,
    "telemetry_s": 300,
    "heartbeat_s": 3600,  # battery profile: timer wake-up
    "awake_s": 20,  # battery profile: longest time awake to send the outbox
    "debounce_ms": 50,
    "poll_ms": 20,
    "outbox_capacity": 200,
    "data_dir": "/",
    "utc_offset_min": 480,
    "heat_on_dc": 50,
    "heat_off_dc": 100,
    "pad_exp": None,
    "batt_exp": None,
    "config_rev": 0,
    "ntp_host": "pool.ntp.org",
    "wdt_ms": 30000,  # hardware watchdog timeout
    "wdt_link_s": 600,  # stop feeding it after this long without a broker round trip
    "stable_after_s": 60,  # a run this long clears the crash counter of safe boot
    "alarm_on_open": True,  # sound the buzzer while the door is open outside maintenance
    # GPIO numbers: inputs pulled up, switch closes to ground; battery on ADC1 (32-39 only)
    "pin_door": 25,
    "pin_aed": 26,
    "pin_maint": 27,
    "pin_mains": 14,
    "pin_tamper": 13,
    "pin_onewire": 4,
    "pin_heater": 23,
    "pin_led": 2,
    "pin_buzzer": 5,
    "pin_battery": 34,
    "batt_divider_milli": 5545,  # (R1 + R2) / R2 x 1000: 100k over 22k
    "batt_offset_mv": 0,
}
REQUIRED = ("id", "broker")
INTEGERS = (
    "keepalive_s",
    "connect_timeout_ms",
    "telemetry_s",
    "heartbeat_s",
    "awake_s",
    "debounce_ms",
    "poll_ms",
    "outbox_capacity",
    "utc_offset_min",
    "heat_on_dc",
    "heat_off_dc",
    "config_rev",
    "wdt_ms",
    "wdt_link_s",
    "stable_after_s",
    "batt_divider_milli",
    "batt_offset_mv",
)


class ConfigError(Exception):
    pass


def _is_cabinet_id(text):
    if not 3 <= len(text) <= 32 or text[0] == "-" or text[-1] == "-":
        return False
    return all(ch in "abcdefghijklmnopqrstuvwxyz0123456789-" for ch in text)


def parse_broker(url):
    """'mqtt://host:port' to (host, port)."""
    if not url.startswith("mqtt://"):
        raise ConfigError("broker must look like mqtt://host:port, not " + url)
    rest = url[7:]
    host, _, port = rest.partition(":")
    if not host:
        raise ConfigError("broker has no host: " + url)
    try:
        return host, int(port) if port else 1883
    except ValueError:
        raise ConfigError("broker port is not a number: " + url)


def merge(overrides):
    """DEFAULTS with `overrides` on top, checked: ConfigError names the key to fix."""
    config = {}  # type: dict
    config.update(DEFAULTS)
    for key in overrides:
        if key not in DEFAULTS:
            raise ConfigError("unknown config key: " + key)
        config[key] = overrides[key]
    for key in REQUIRED:
        if not config[key]:
            raise ConfigError("config needs " + key)
    for key in INTEGERS:
        if not isinstance(config[key], int) or isinstance(config[key], bool):
            raise ConfigError(key + " must be a whole number")
    if not _is_cabinet_id(config["id"]):
        raise ConfigError("id must be 3-32 of a-z 0-9 '-': " + str(config["id"]))
    if config["power"] not in ("mains", "battery"):
        raise ConfigError("power must be mains or battery")
    if config["heat_on_dc"] >= config["heat_off_dc"]:
        raise ConfigError("heat_on_dc must be below heat_off_dc")
    for key in ("pad_exp", "batt_exp"):
        if config[key] is not None:
            try:
                cabinet.parse_date(config[key])
            except (ValueError, TypeError):
                raise ConfigError(key + " must be a real date YYYY-MM-DD")
    parse_broker(config["broker"])
    return config


def load(path):
    try:
        with open(path) as handle:
            overrides = json.load(handle)
    except OSError:
        raise ConfigError("no config file at " + path + "; flash one with aedfleet firmware")
    except ValueError:
        raise ConfigError(path + " is not valid JSON")
    return merge(overrides)


def apply_server_config(config, message):
    """Apply a retained `config` message (already parsed JSON). Returns the revision applied,
    or None when it is not for us, not newer, or not valid (then nothing changes)."""
    if message.get("v") != 1 or message.get("id") != config["id"]:
        return None
    revision = message.get("rev")
    if not isinstance(revision, int) or revision <= config["config_rev"]:
        return None
    changes = {"config_rev": revision}
    if "tele_s" in message:
        changes["telemetry_s"] = message["tele_s"]
    for key in ("pad_exp", "batt_exp", "heat_on_dc", "heat_off_dc"):
        if key in message:
            changes[key] = message[key]
    candidate = dict(config)
    candidate.update(changes)
    try:
        merge({key: candidate[key] for key in candidate})
    except ConfigError:
        return None
    config.update(changes)
    return revision
