"""The `aedfleet simulate` command's answers that need no services."""

from __future__ import annotations

from click.testing import CliRunner

from aedfleet.cli import main


def test_list_names_every_scenario_with_what_it_does() -> None:
    result = CliRunner().invoke(main, ["simulate", "--list"])
    assert result.exit_code == 0
    assert "emergency_opening" in result.output and "40 minutes later" in result.output
    assert len(result.output.splitlines()) >= 10


def test_an_unknown_scenario_or_too_small_a_fleet_is_refused_before_anything_starts() -> None:
    unknown = CliRunner().invoke(main, ["simulate", "--scenario", "meteor_strike"])
    assert unknown.exit_code == 1
    assert "no scenario meteor_strike" in unknown.output
    small = CliRunner().invoke(main, ["simulate", "--cabinets", "3", "--scenario", "all"])
    assert small.exit_code == 1
    assert "3 cabinets are too few" in small.output
    bad = CliRunner().invoke(main, ["simulate", "--duration", "soon"])
    assert bad.exit_code == 1 and "not a duration" in bad.output
