"""The collector's configuration: a TOML file, with AEDFLEET_<SECTION>_<KEY> environment
variables on top (for secrets: AEDFLEET_MQTT_PASSWORD, AEDFLEET_INFLUX_PASSWORD).

Bad configuration is refused at start-up with a message naming the key; see
aedfleet/collector/aedfleet.sample.toml for every key with its default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, NamedTuple

import msgspec

from aedfleet.alerts.settings import Settings, Thresholds
from aedfleet.collector.topics import DEFAULT_PREFIX

_Positive = Annotated[int, msgspec.Meta(gt=0)]
_Duration = Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]*[smhdw]$")]  # InfluxQL: 396d


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key to fix."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


EVENTS_SUFFIX: Final = "-events"


class Identity(NamedTuple):
    client_id: str
    username: str


class MqttConfig(_Section, frozen=True):
    url: str = "mqtt://127.0.0.1:1883"  # mqtts:// for TLS
    client_id: str = "aedfleet-collector"  # only for a broker without accounts
    # the broker takes the account as the client id (use_username_as_clientid), so each of
    # the two connections has its own: <username> for telemetry, <username>-events for events
    # and status, both with this password (aedfleet broker config makes them so)
    username: str = ""
    password: str = ""
    ca_file: str = ""  # the CA that signed the broker's certificate (mqtts://)
    prefix: str = DEFAULT_PREFIX
    keepalive_s: _Positive = 30
    # "$share/<group>/" to run several collectors that split the fleet's messages
    shared_group: str = ""
    # the nodes of a broker cluster (docs/ha.md), tried in turn; when given, `url` is unused
    urls: list[str] = msgspec.field(default_factory=list)
    # CONNECT to CONNACK (and the TCP connect): a cluster electing a stream leader answers
    # late (NATS: up to 4 s, then it closes); a shorter wait gives up on a node about to accept
    connect_timeout_s: Annotated[float, msgspec.Meta(ge=8.0)] = 10.0

    def brokers(self) -> list[str]:
        return self.urls or [self.url]

    def identities(self) -> tuple[Identity, Identity]:
        """The telemetry connection's and the events connection's client id and account."""
        if not self.username:
            return Identity(self.client_id, ""), Identity(self.client_id + EVENTS_SUFFIX, "")
        events = self.username + EVENTS_SUFFIX
        return Identity(self.username, self.username), Identity(events, events)


class InfluxConfig(_Section, frozen=True):
    url: str = "http://127.0.0.1:8086"
    database: str = "aedfleet"
    username: str = ""
    password: str = ""  # InfluxDB 3: the token
    timeout_s: float = 10.0
    batch_points: _Positive = 5000
    flush_interval_ms: _Positive = 200
    queue_capacity: _Positive = 50_000  # lines held in memory before the broker is paused


class RetentionConfig(_Section, frozen=True):
    """How long InfluxDB keeps what (docs/storage.md); made so by the collector at start."""

    enabled: bool = True
    raw: _Duration = "396d"  # everything, telemetry included: about 13 months
    long: _Duration = "3650d"  # events, status, alerts, notifications, readiness changes...
    aggregates: list[_Duration] = msgspec.field(default_factory=lambda: ["1h", "1d"])  # forever


class SpoolConfig(_Section, frozen=True):
    dir: str = ".run/collector/spool"
    max_bytes: _Positive = 512 * 1024 * 1024


class FleetConfig(_Section, frozen=True):
    inventory: str = "inventory.csv"
    utc_offset_minutes: int = 480  # China Standard Time: expiry days count in local dates
    max_future_skew_s: _Positive = 300
    max_age_days: _Positive = 90


class CoverageConfig(_Section, frozen=True):
    """Live coverage of key places (docs/coverage.md); off while `places` is empty."""

    places: str = ""  # the key-places CSV
    retrieval_s: Annotated[float, msgspec.Meta(gt=0)] = 240.0  # round trip to fetch the AED
    walk_m_per_s: Annotated[float, msgspec.Meta(gt=0)] = 1.5
    detour_factor: Annotated[float, msgspec.Meta(ge=1)] = 1.2


class RespondersConfig(_Section, frozen=True):
    """Nearby certified first-aiders texted in an emergency (docs/responders.md); off while
    `file` is empty."""

    file: str = ""  # the responders CSV, mode 0600
    radius_m: Annotated[float, msgspec.Meta(gt=0, le=5000)] = 500.0
    max_responders: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5
    rest_minutes: Annotated[int, msgspec.Meta(ge=0)] = 30
    daily_budget: Annotated[int, msgspec.Meta(ge=1)] = 3


class HttpConfig(_Section, frozen=True):
    # /healthz and /metrics (open), and the alerts API that acknowledges and silences (a token
    # for every change); keep it on loopback, or behind a TLS proxy. Empty to disable.
    listen: str = "127.0.0.1:9108"
    token: str = ""  # prefer AEDFLEET_HTTP_TOKEN; recorded as `token_name`
    token_name: str = "operator"
    tokens: dict[str, str] = msgspec.field(default_factory=dict)  # name = token, one per person
    allowed_hosts: list[str] = msgspec.field(default_factory=list)  # Host names beyond loopback


class TwilioConfig(_Section, frozen=True):
    account_sid: str = ""
    auth_token: str = ""  # prefer AEDFLEET_TWILIO_AUTH_TOKEN
    sender: str = ""  # the sending number, or a Messaging Service SID (MG...)
    base_url: str = "https://api.twilio.com"


class AliyunConfig(_Section, frozen=True):
    access_key_id: str = ""
    access_key_secret: str = ""  # prefer AEDFLEET_ALIYUN_ACCESS_KEY_SECRET
    sign_name: str = ""
    template_code: str = ""  # an approved template with one variable: ${text}
    endpoint: str = "https://dysmsapi.aliyuncs.com"


class NotifyConfig(_Section, frozen=True):
    sms_provider: str = "none"  # none, twilio, aliyun, or outbox (the demo's local file)
    outbox_path: str = ".run/collector/sms-outbox.txt"
    webhook_url: str = ""  # every alert transition as JSON, with an Idempotency-Key header
    webhook_secret: str = ""  # signs each webhook (HMAC-SHA256); prefer the environment
    language: str = "zh+en"  # zh, en or zh+en
    duty_officers: list[str] = msgspec.field(default_factory=list)
    quiet_hours: str = "22:00-07:00"  # local; only critical alerts are sent during them
    budget_per_hour: _Positive = 10  # non-critical messages per recipient per hour
    timeout_s: float = 10.0


class AlertsConfig(Thresholds, frozen=True):
    """The alert thresholds (aedfleet/alerts/settings.py), and how the collector runs them."""

    state_dir: str = ".run/collector/state"  # SQLite: alerts, cabinet states, notifications
    tick_ms: _Positive = 1000
    readiness_every_s: _Positive = 60
    broker_grace_s: int | None = None  # default: heartbeat_s x missed_heartbeats
    # per-cabinet thresholds: [alerts.cabinets.bz-bc-001] temp_low_c = -5.0
    cabinets: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)


class CollectorConfig(_Section, frozen=True):
    mqtt: MqttConfig = msgspec.field(default_factory=MqttConfig)
    influx: InfluxConfig = msgspec.field(default_factory=InfluxConfig)
    retention: RetentionConfig = msgspec.field(default_factory=RetentionConfig)
    spool: SpoolConfig = msgspec.field(default_factory=SpoolConfig)
    fleet: FleetConfig = msgspec.field(default_factory=FleetConfig)
    http: HttpConfig = msgspec.field(default_factory=HttpConfig)
    alerts: AlertsConfig = msgspec.field(default_factory=AlertsConfig)
    notify: NotifyConfig = msgspec.field(default_factory=NotifyConfig)
    twilio: TwilioConfig = msgspec.field(default_factory=TwilioConfig)
    aliyun: AliyunConfig = msgspec.field(default_factory=AliyunConfig)
    coverage: CoverageConfig = msgspec.field(default_factory=CoverageConfig)
    responders: RespondersConfig = msgspec.field(default_factory=RespondersConfig)


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


def settings_from(config: CollectorConfig) -> tuple[Settings, dict[str, Settings]]:
    """The fleet's alert settings and each overridden cabinet's; a bad key fails at start-up."""
    fleet = {name: getattr(config.alerts, name) for name in Thresholds.__struct_fields__}
    fleet["utc_offset_minutes"] = config.fleet.utc_offset_minutes
    overrides = {}
    for cabinet_id, values in config.alerts.cabinets.items():
        try:
            overrides[cabinet_id] = msgspec.convert({**fleet, **values}, Settings)
        except msgspec.ValidationError as error:
            raise ConfigError(f"[alerts.cabinets.{cabinet_id}]: {error}") from error
    return Settings(**fleet), overrides
