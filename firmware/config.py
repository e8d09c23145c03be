# Firmware configuration: defaults here, the board's own values in config.json (written by
# `aedfleet firmware config CABINET_ID`), and what the server's retained `config` message set.

import json

import cabinet

FIRMWARE_VERSION = "1.0.0"

DEFAULTS = {
    "id": None,  # the cabinet id: also the MQTT client id and username
    "broker": None,  # mqtts://host:port (TLS, the fleet CA in ca_file) or mqtt://host:port
    "brokers": None,  # or a list of such URLs (a cluster's nodes), tried in turn: docs/ha.md
    "ca_file": "ca.crt",  # the fleet CA that signed the broker's certificate (for mqtts://)
    "username": "",
    "password": "",
    "prefix": "aed",
    "wifi_ssid": "",
    "wifi_password": "",
    "power": "mains",  # or "battery": deep sleep between heartbeats
    "keepalive_s": 30,
    "connect_timeout_ms": 5000,  # TCP and TLS connect, and every other network wait
    "ack_timeout_ms": 10000,  # CONNACK and PUBACK: a NATS node electing a leader answers late
    "telemetry_s": 300,
    "heartbeat_s": 3600,  # battery profile: timer wake-up
    "awake_s": 20,  # battery profile: longest time awake to send the outbox
    "awake_open_s": 1800,  # battery profile: stay awake this long at most while door open/AED out
    "self_test_s": 86400,  # mains profile: a self_test event this often (and at boot)
    "ntp_s": 21600,  # clock re-sync at most this often (NTP blocks up to a second)
    "debounce_ms": 50,
    "poll_ms": 20,
    "outbox_capacity": 200,
    "data_dir": "/",
    "heat_on_dc": 50,
    "heat_off_dc": 100,
    "pad_exp": None,
    "batt_exp": None,
    "config_rev": 0,
    "ntp_host": "pool.ntp.org",
    "ntp_port": 123,
    "wdt_ms": 30000,  # hardware watchdog timeout
    "wdt_link_s": 600,  # stop feeding it after this long without a broker round trip
    "stable_after_s": 60,  # a run this long clears the crash counter of safe boot
    "alarm_on_open": True,  # sound the buzzer while the door is open outside maintenance
    "ota_key": "",  # the release signing key's public half (base64 of 32 bytes); none: no updates
    "ota_trial_s": 300,  # a new version must say `online` within this, or it is rolled back
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
REQUIRED = ("id",)  # and `broker` or `brokers`
MAX_BROKERS = 8  # more nodes than a cluster has only cost heap
# every whole-number key and the range it must lie in: a value outside is refused, by name.
# Zero is never valid where it would stop a loop, a timer or the outbox (tests and the
# simulator run with timings down to a second, so the lower bounds stay that low)
RANGES = {
    "keepalive_s": (1, 3600),
    "connect_timeout_ms": (100, 60000),
    "ack_timeout_ms": (1000, 60000),  # at least 8000 against a NATS cluster (docs/ha.md)
    "telemetry_s": (1, 86400),
    "heartbeat_s": (1, 86400),
    "awake_s": (1, 600),
    "awake_open_s": (1, 86400),
    "self_test_s": (3600, 7 * 86400),
    "ntp_s": (600, 7 * 86400),
    "ntp_port": (1, 65535),
    "debounce_ms": (1, 1000),
    "poll_ms": (1, 5000),
    "outbox_capacity": (1, 5000),
    "heat_on_dc": (-600, 1250),
    "heat_off_dc": (-600, 1250),
    "config_rev": (0, (1 << 31) - 1),
    "wdt_ms": (5000, 120000),
    "wdt_link_s": (1, 86400),
    "stable_after_s": (1, 3600),
    "ota_trial_s": (10, 3600),
    "batt_divider_milli": (1000, 20000),
    "batt_offset_mv": (-2000, 2000),
}


class ConfigError(Exception):
    pass


def _is_cabinet_id(text):
    if not 3 <= len(text) <= 32 or text[0] == "-" or text[-1] == "-":
        return False
    return all(ch in "abcdefghijklmnopqrstuvwxyz0123456789-" for ch in text)


def _is_public_key(text):
    """An empty key (no updates) or the base64 of 32 bytes."""
    if text == "":
        return True
    if not isinstance(text, str) or len(text) != 44:
        return False
    import binascii  # noqa: PLC0415

    try:
        return len(binascii.a2b_base64(text)) == 32
    except ValueError:
        return False


def parse_broker(url):
    """'mqtts://host:port' to (host, port, True), 'mqtt://host:port' to (host, port, False)."""
    tls = isinstance(url, str) and url.startswith("mqtts://")
    if not tls and not (isinstance(url, str) and url.startswith("mqtt://")):
        raise ConfigError("broker must look like mqtts://host:port, not " + str(url))
    rest = url[8:] if tls else url[7:]
    host, _, port = rest.partition(":")
    if not host:
        raise ConfigError("broker has no host: " + url)
    try:
        return host, int(port) if port else (8883 if tls else 1883), tls
    except ValueError:
        raise ConfigError("broker port is not a number: " + url)


def broker_urls(config):
    """The brokers to try in turn: `brokers`, or the single `broker` as a list of one;
    ConfigError unless exactly one of the two is given and every URL is valid."""
    urls = config["brokers"]
    if config["broker"]:
        if urls:
            raise ConfigError("give broker or brokers, not both")
        urls = [config["broker"]]
    if not isinstance(urls, list) or not 0 < len(urls) <= MAX_BROKERS:
        raise ConfigError("config needs broker, or brokers: 1 to %d broker URLs" % MAX_BROKERS)
    for url in urls:
        parse_broker(url)
    return urls


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
    for key in RANGES:
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(key + " must be a whole number")
        low, high = RANGES[key]
        if not low <= value <= high:
            raise ConfigError("%s must be %d to %d, not %d" % (key, low, high, value))
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
    broker_urls(config)
    if not _is_public_key(config["ota_key"]):
        raise ConfigError("ota_key must be the base64 of a 32-byte Ed25519 public key")
    return config


def load(path):
    try:
        with open(path) as handle:
            overrides = json.load(handle)
    except OSError:
        raise ConfigError("no config file at " + path + "; flash one with aedfleet firmware")
    except ValueError:
        raise ConfigError(path + " is not valid JSON")
    if not isinstance(overrides, dict):
        raise ConfigError(path + " must hold a JSON object")
    return merge(overrides)


def merge_applied(config, applied):
    """Put back what the server configured before a reboot (applied.json), only if valid."""
    if not isinstance(applied, dict):
        raise ConfigError("applied config is not an object")
    candidate = dict(config)
    candidate.update(applied)
    config.update(merge(candidate))


def apply_server_config(config, message):
    """Apply a retained `config` message (already parsed JSON). Returns the revision applied,
    or None when it is not for us, not newer, or not valid (then nothing changes)."""
    if not isinstance(message, dict):
        return None
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
