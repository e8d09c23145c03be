"""board_esp32.py, boot.py and main.py on the ESP32 stand-ins under the real unix port: what
would fail in the field (issue 16) is reproduced here first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aedfleet.services import free_port
from tests.firmware.esp32_board import DOOR_PIN, Esp32Cabinet

pytestmark = pytest.mark.micropython
CABINET = "bz-bc-001"
MINUTE = 60_000


def offline_config(**extra: Any) -> dict[str, Any]:
    """A cabinet whose broker does not answer: everything it says stays in its outbox."""
    return {
        "id": CABINET,
        "broker": f"mqtt://127.0.0.1:{free_port()}",
        "password": "x",
        "wifi_ssid": "RedCross",
        "connect_timeout_ms": 1000,
        **extra,
    }


def outbox_lines(board: Esp32Cabinet) -> list[bytes]:
    """The records still in the outbox log, in order (a "-seq" line removes one)."""
    live: dict[int, bytes] = {}
    for line in (board.flash / "outbox").read_bytes().splitlines():
        if line.startswith(b"+"):
            live[int(line[1:].split(b" ")[0])] = line
        elif line.startswith(b"-"):
            live.pop(int(line[1:]), None)
    return list(live.values())


def outbox_events(board: Esp32Cabinet) -> list[str]:
    return [
        line.split(b'"ev":"')[1].split(b'"')[0].decode()
        for line in outbox_lines(board)
        if b'"ev":"' in line
    ]


def test_a_battery_cabinet_sleeps_ten_times_and_never_enters_safe_mode(tmp_path: Path) -> None:
    config = offline_config(power="battery", heartbeat_s=600, awake_s=20)
    board = Esp32Cabinet(tmp_path, config, [[11 * 600_000, "end"]])
    for _cycle in range(11):
        result = board.start()
        assert result.returncode == 0, board.console()
        assert "SAFE MODE" not in result.stdout, board.console()
    sleeps = board.events("deepsleep")
    assert len(sleeps) == 11
    assert not board.events("reset")
    # heater (23), LED (2) and buzzer (5) are off before every deep sleep
    assert all(set(sleep["outputs"].values()) == {0} for sleep in sleeps)


def telemetry_lines(board: Esp32Cabinet) -> list[bytes]:
    return [line for line in outbox_lines(board) if b"/telemetry " in line]


def test_the_first_telemetry_carries_a_real_temperature_and_no_fault(tmp_path: Path) -> None:
    board = Esp32Cabinet(tmp_path, offline_config(), [[0, "temp_c", 4.5], [30_000, "end"]])
    assert board.start().returncode == 0, board.console()
    first = telemetry_lines(board)[0]
    assert b'"temp_dc":45,' in first, first
    assert "fault" not in outbox_events(board)
    assert board.events("output")  # the heater pin was driven from that reading
    heater = [e for e in board.events("output") if e["pin"] == 23]
    assert heater[-1]["level"] == 1  # 4.5 °C is below the 5.0 °C threshold


def test_without_a_sensor_telemetry_leaves_the_temperature_out(tmp_path: Path) -> None:
    timeline = [[0, "sensor", False], [30_000, "end"]]
    board = Esp32Cabinet(tmp_path, offline_config(), timeline)
    assert board.start().returncode == 0, board.console()
    first = telemetry_lines(board)[0]
    assert b"temp_dc" not in first, first
    assert outbox_events(board).count("fault") == 1


def test_a_sensor_lost_mid_run_is_a_fault_then_a_self_test_when_it_returns(
    tmp_path: Path,
) -> None:
    timeline = [[10_000, "sensor", False], [20_000, "sensor", True], [40_000, "end"]]
    board = Esp32Cabinet(tmp_path, offline_config(), timeline)
    assert board.start().returncode == 0, board.console()
    assert "Traceback" not in board.console()
    events = outbox_events(board)
    assert events.index("fault") < len(events) - 1 - events[::-1].index("self_test")


def test_an_access_point_down_for_three_minutes_then_back_costs_no_reset(
    tmp_path: Path,
) -> None:
    timeline = [[0, "ap", False], [3 * MINUTE, "ap", True], [4 * MINUTE, "end"]]
    board = Esp32Cabinet(tmp_path, offline_config(), timeline)
    assert board.start().returncode == 0, board.console()
    assert "Traceback" not in board.console() and not board.events("reset"), board.console()
    wifi = [e["state"] for e in board.events("wifi")]
    assert "connect_while_connecting" not in wifi
    assert wifi[-1] == "joined"
    # joined again once the access point is back: at its very moment when the board's clock
    # jumped there, idle, or later
    assert [e for e in board.events("wifi") if e["state"] == "joined"][-1]["at"] >= 3 * MINUTE


def test_an_escape_from_the_app_ends_in_a_reset_not_a_dark_board(tmp_path: Path) -> None:
    # a config the board cannot use at run time (a pin the ADC refuses) is found only by
    # running: the app must not just stop
    board = Esp32Cabinet(tmp_path, offline_config(), [[0, "adc_uv", 34, "broken"], [5000, "end"]])
    board.start()
    assert board.events("reset"), board.console()
    assert board.nvram()["cause"] == 2  # machine.HARD_RESET


def test_a_door_pulse_shorter_than_a_poll_is_two_events_in_order(tmp_path: Path) -> None:
    # the loop wakes on the opening; the closing 30 ms later comes before the debounce could
    # accept a level by polling: the latched edges still say open, then close
    timeline = [
        [5000, "pin", DOOR_PIN, 1],
        [5030, "pin", DOOR_PIN, 0],
        # contact bounce: edges 1 ms apart, settling open, then shut again for good
        [8000, "pin", DOOR_PIN, 1],
        [8001, "pin", DOOR_PIN, 0],
        [8002, "pin", DOOR_PIN, 1],
        [8003, "pin", DOOR_PIN, 0],
        [8004, "pin", DOOR_PIN, 1],
        [9000, "pin", DOOR_PIN, 0],
        [9001, "pin", DOOR_PIN, 1],
        [9002, "pin", DOOR_PIN, 0],
        [12_000, "end"],
    ]
    board = Esp32Cabinet(tmp_path, offline_config(debounce_ms=10, poll_ms=100), timeline)
    assert board.start().returncode == 0, board.console()
    door = [name for name in outbox_events(board) if name.startswith("door")]
    assert door == ["door_open", "door_close", "door_open", "door_close"]


def test_a_door_open_across_deep_sleep_reports_how_long_it_was_open(tmp_path: Path) -> None:
    # battery: the door opens (a wake), stays open past the awake limit (it sleeps with the
    # door open) and is shut nine minutes later (another wake): open_s spans the sleep
    timeline = [[60_000, "pin", DOOR_PIN, 1], [600_000, "pin", DOOR_PIN, 0], [900_000, "end"]]
    config = offline_config(power="battery", heartbeat_s=3600, awake_s=5, awake_open_s=10)
    board = Esp32Cabinet(tmp_path, config, timeline)
    for _start in range(3):
        assert board.start().returncode == 0, board.console()
    closes = [line for line in outbox_lines(board) if b"door_close" in line]
    assert len(closes) == 1, board.console()
    open_s = int(closes[0].split(b'"open_s":')[1].split(b"}")[0])
    assert 535 <= open_s <= 541, open_s


def boot_resets(board: Esp32Cabinet) -> list[str]:
    return [
        line.split(b'"reset":"')[1].split(b'"')[0].decode()
        for line in outbox_lines(board)
        if b'"ev":"boot"' in line
    ]


def test_a_broker_gone_too_long_ends_in_a_watchdog_reset_and_a_clean_restart(
    tmp_path: Path,
) -> None:
    # the input loop stops feeding the watchdog after wdt_link_s without the broker; the WDT
    # cannot be stopped and resets the board, which comes back counting one crash
    config = offline_config(wdt_link_s=60, wdt_ms=10_000)
    board = Esp32Cabinet(tmp_path, config, [[10 * MINUTE, "end"]])
    assert board.start().returncode == 0, board.console()
    [reset] = board.events("reset")
    assert reset["why"] == "watchdog" and 69_000 <= reset["at"] <= 72_000
    assert board.start().returncode == 0, board.console()
    assert "SAFE MODE" not in board.console()
    # boot records coalesce in the outbox: the newest says why the board restarted
    assert boot_resets(board) == ["watchdog"]


def test_a_brown_out_comes_back_as_a_power_on_without_rtc_memory(tmp_path: Path) -> None:
    board = Esp32Cabinet(tmp_path, offline_config(), [[5000, "end"], [20_000, "end"]])
    assert board.start().returncode == 0, board.console()
    board.power_cycle(at_ms=10_000)  # the supply sagged: the ESP32 reports a power-on reset
    assert board.start().returncode == 0, board.console()
    assert boot_resets(board)[-1] == "power_on"
    assert board.nvram()["rtc_memory"][:2] == "01"  # the crash count started again
