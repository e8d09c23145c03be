# Firmware configuration: clear errors, server config applied only when newer and valid.

import config


def _base():
    return {"id": "bz-bc-001", "broker": "mqtt://10.0.0.2:1883"}


def _error(overrides):
    try:
        config.merge(overrides)
    except config.ConfigError as error:
        return str(error)
    return None


def test_defaults_fill_in_what_the_board_config_leaves_out():
    merged = config.merge(_base())
    assert merged["telemetry_s"] == 300 and merged["prefix"] == "aed"
    assert config.parse_broker(merged["broker"]) == ("10.0.0.2", 1883, False)


def test_bad_config_says_which_key():
    assert "broker" in _error({"id": "bz-bc-001"})
    assert _error(dict(_base(), wifi="x")) == "unknown config key: wifi"
    assert "telemetry_s" in _error(dict(_base(), telemetry_s="5"))
    assert "id" in _error(dict(_base(), id="BZ 1"))
    assert "pad_exp" in _error(dict(_base(), pad_exp="2027-02-30"))
    assert "heat_on_dc" in _error(dict(_base(), heat_on_dc=120))


def test_server_config_applies_newer_revisions_only():
    current = config.merge(_base())
    message = {"v": 1, "id": "bz-bc-001", "rev": 3, "tele_s": 600, "pad_exp": "2027-03-01"}
    assert config.apply_server_config(current, message) == 3
    assert current["telemetry_s"] == 600 and current["pad_exp"] == "2027-03-01"
    assert config.apply_server_config(current, dict(message, tele_s=60)) is None
    assert current["telemetry_s"] == 600


def test_invalid_server_config_changes_nothing():
    current = config.merge(_base())
    bad = {"v": 1, "id": "bz-bc-001", "rev": 4, "heat_on_dc": 200, "heat_off_dc": 100}
    assert config.apply_server_config(current, bad) is None
    assert config.apply_server_config(current, {"v": 1, "id": "other", "rev": 9}) is None
    assert current["config_rev"] == 0 and current["heat_on_dc"] == 50


def test_the_alarm_can_be_turned_off():
    assert config.merge(_base())["alarm_on_open"] is True
    assert config.merge(dict(_base(), alarm_on_open=False))["alarm_on_open"] is False


def test_values_that_would_stop_a_loop_or_the_outbox_are_refused():
    for key in ("telemetry_s", "keepalive_s", "outbox_capacity", "poll_ms", "wdt_ms"):
        assert key in _error(dict(_base(), **{key: 0})), key
    assert "must be" in _error(dict(_base(), heat_off_dc=5000))


def test_a_config_file_that_is_no_object_is_refused():
    path = "/tmp/aedfleet-fw-config-list.json"
    with open(path, "w") as handle:
        handle.write("[]")
    try:
        config.load(path)
    except config.ConfigError as error:
        assert "object" in str(error)
        return
    raise AssertionError("a [] config file was accepted")


def test_the_release_key_must_be_an_ed25519_public_key():
    assert config.merge(dict(_base(), ota_key="A" * 43 + "="))["ota_key"].endswith("=")
    assert "ota_key" in _error(dict(_base(), ota_key="not a key"))
    assert "ota_key" in _error(dict(_base(), ota_key="*" * 43 + "="))
    assert "ota_key" in _error(dict(_base(), ota_key=32))
