"""The collector's configuration: a TOML file, with AEDFLEET_<SECTION>_<KEY> environment
variables on top (for secrets: AEDFLEET_MQTT_PASSWORD, AEDFLEET_INFLUX_PASSWORD).

Bad configuration is refused at start-up with a message naming the key; see
collector/aedfleet.sample.toml for every key with its default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

from collector.topics import DEFAULT_PREFIX

_Positive = Annotated[int, msgspec.Meta(gt=0)]


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key to fix."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class MqttConfig(_Section, frozen=True):
    url: str = "mqtt://127.0.0.1:1883"  # mqtts:// for TLS
    client_id: str = "aedfleet-collector"
    username: str = ""
    password: str = ""
    ca_file: str = ""  # the CA that signed the broker's certificate (mqtts://)
    prefix: str = DEFAULT_PREFIX
    keepalive_s: _Positive = 30
    # "$share/<group>/" to run several collectors that split the fleet's messages
    shared_group: str = ""


class InfluxConfig(_Section, frozen=True):
    url: str = "http://127.0.0.1:8086"
    database: str = "aedfleet"
    username: str = ""
    password: str = ""  # InfluxDB 3: the token
    timeout_s: float = 10.0
    batch_points: _Positive = 5000
    flush_interval_ms: _Positive = 200
    queue_capacity: _Positive = 50_000  # lines held in memory before the broker is paused


class SpoolConfig(_Section, frozen=True):
    dir: str = ".run/collector/spool"
    max_bytes: _Positive = 512 * 1024 * 1024


class FleetConfig(_Section, frozen=True):
    inventory: str = "inventory.csv"
    utc_offset_minutes: int = 480  # China Standard Time: expiry days count in local dates
    max_future_skew_s: _Positive = 300
    max_age_days: _Positive = 90


class HttpConfig(_Section, frozen=True):
    listen: str = "127.0.0.1:9108"  # /healthz and /metrics; empty to disable


class CollectorConfig(_Section, frozen=True):
    mqtt: MqttConfig = msgspec.field(default_factory=MqttConfig)
    influx: InfluxConfig = msgspec.field(default_factory=InfluxConfig)
    spool: SpoolConfig = msgspec.field(default_factory=SpoolConfig)
    fleet: FleetConfig = msgspec.field(default_factory=FleetConfig)
    http: HttpConfig = msgspec.field(default_factory=HttpConfig)


def load_config(path: Path | None, environ: Mapping[str, str] = os.environ) -> CollectorConfig:
    document: dict[str, Any] = {}
    if path is not None:
        try:
            document = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{path}: {error}") from error
    sections = set(CollectorConfig.__struct_fields__)
    for name, value in environ.items():
        if not name.startswith("AEDFLEET_"):
            continue
        section, _, key = name.removeprefix("AEDFLEET_").lower().partition("_")
        if section in sections and key:
            document.setdefault(section, {})[key] = value
    try:
        return msgspec.convert(document, CollectorConfig, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(f"configuration: {error}") from error
