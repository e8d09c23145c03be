# Pure protocol v1 message building: (topic, payload bytes) in the wire's field order.
# docs/protocol.md is the definition; tests/vectors/valid.json holds the bytes this must make.
# JSON is written by hand, field by field, so the order never depends on dict order and the
# ESP32 builds each message in one small string.

VERSION = 1
KINDS = ("event", "telemetry", "status", "config")

# extra fields of each event type, in wire order
EVENT_FIELDS = {
    "boot": ("reset", "fw"),
    "door_open": (),
    "door_close": ("open_s",),
    "aed_removed": (),
    "aed_returned": ("out_s",),
    "tamper": (),
    "maint_enter": (),
    "maint_exit": ("dur_s",),
    "mains_lost": (),
    "mains_restored": (),
    "self_test": ("ok",),
    "fault": ("code",),
    "config_applied": ("rev",),
}
# over-the-air updates (firmware/ota.py, docs/ota.md): optional events of protocol v1, which a
# collector older than them dead-letters by name
OPTIONAL_EVENT_FIELDS = {
    "ota_started": ("fw",),
    "ota_applied": ("fw",),
    "ota_failed": ("fw", "reason"),
    "ota_rolled_back": ("fw", "from"),
}
TELEMETRY_FIELDS = (
    "door",
    "aed",
    "maint",
    "mains",
    "batt_mv",
    "temp_dc",
    "heater",
    "rssi",
    "reconn",
    "up_s",
    "mem",
    "drop",
    "fw",
)
TELEMETRY_OPTIONAL = ("hum_pct", "pad_exp", "batt_exp")
TELEMETRY_NO_READING = ("temp_dc",)  # in wire order where read; left out when no reading
STATUS_FIELDS = {"online": ("fw",), "offline": (), "sleeping": ("wake",)}


def topic(prefix, cabinet_id, kind):
    return prefix + "/v1/" + cabinet_id + "/" + kind


def _value(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if '"' in text or "\\" in text:
        raise ValueError("unsafe string in a message: " + text)
    return '"' + text + '"'


def _fields(names, values):
    return "".join(',"' + name + '":' + _value(values[name]) for name in names)


def _head(cabinet_id, tag_name, tag_value, seq, ts_ms, synced):
    tag = ',"' + tag_name + '":"' + tag_value + '"' if tag_name else ""
    return '{"v":1,"id":"%s"%s,"seq":%d,"ts":%d,"sync":%s' % (
        cabinet_id,
        tag,
        seq,
        ts_ms,
        _value(bool(synced)),
    )


def event(prefix, cabinet_id, name, extra, seq, ts_ms, synced):
    """An event message; `extra` holds the event's fields by name (EVENT_FIELDS)."""
    names = EVENT_FIELDS[name] if name in EVENT_FIELDS else OPTIONAL_EVENT_FIELDS[name]
    body = _head(cabinet_id, "ev", name, seq, ts_ms, synced) + _fields(names, extra)
    return topic(prefix, cabinet_id, "event"), (body + "}").encode()


def telemetry(prefix, cabinet_id, readings, seq, ts_ms, synced):
    """A telemetry message; optional readings that are None are left out."""
    optional = [name for name in TELEMETRY_OPTIONAL if readings.get(name) is not None]
    fields = [
        name
        for name in TELEMETRY_FIELDS
        if name not in TELEMETRY_NO_READING or readings.get(name) is not None
    ]
    body = (
        _head(cabinet_id, None, None, seq, ts_ms, synced)
        + _fields(fields, readings)
        + _fields(optional, readings)
    )
    return topic(prefix, cabinet_id, "telemetry"), (body + "}").encode()


def status(prefix, cabinet_id, state, extra, seq, ts_ms, synced):
    body = _head(cabinet_id, "state", state, seq, ts_ms, synced) + _fields(
        STATUS_FIELDS[state], extra
    )
    return topic(prefix, cabinet_id, "status"), (body + "}").encode()
