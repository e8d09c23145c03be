"""The firmware's temperature-sensor fault and the self-test that clears it, as the collector
reads them: a telemetry without a reading is valid and no 0 °C; a passed self_test resolves
the fault."""

from __future__ import annotations

import json

from aedfleet.alerts.rules import temperature
from aedfleet.alerts.settings import Settings
from aedfleet.alerts.state import CabinetState, fold
from aedfleet.collector.validate import Rejection, Validator

CABINET = "bz-bc-001"
NOW = 1_795_820_400_000


def message(kind: str, **fields: object) -> object:
    head = {"v": 1, "id": CABINET, "seq": fields.pop("seq", 1), "ts": NOW, "sync": True}
    result = Validator().validate(
        f"aed/v1/{CABINET}/{kind}", json.dumps({**head, **fields}).encode(), NOW
    )
    assert not isinstance(result, Rejection), result
    return result


def test_telemetry_without_a_temperature_is_valid_and_not_zero_degrees() -> None:
    telemetry = message(
        "telemetry", door=False, aed=True, maint=False, mains=True, batt_mv=12800,
        heater=False, rssi=-60, reconn=0, up_s=0, mem=90000, drop=0, fw="1.1.0",
    )  # fmt: skip
    state = CabinetState(cabinet_id=CABINET)
    fold(state, telemetry, NOW)  # type: ignore[arg-type]
    assert state.temp_c is None


def test_a_passed_self_test_resolves_the_temp_sensor_fault() -> None:
    state = CabinetState(cabinet_id=CABINET)
    fold(state, message("event", ev="fault", code="temp_sensor"), NOW)  # type: ignore[arg-type]
    assert temperature(state, Settings(), NOW, False) is not None
    fold(state, message("event", ev="self_test", ok=True, seq=2), NOW)  # type: ignore[arg-type]
    assert state.fault == ""
    assert temperature(state, Settings(), NOW, True) is None
