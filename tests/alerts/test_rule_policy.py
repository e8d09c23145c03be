"""Each rule carries its whole policy, so a new rule is one entry in `RULES`: the engine, the
router and the texts read the policy, never a rule's name."""

from __future__ import annotations

import ast
import datetime
from pathlib import Path
from types import ModuleType

import pytest

from aedfleet.alerts import engine as engine_module
from aedfleet.alerts import rules as rules_module
from aedfleet.alerts import shell
from aedfleet.alerts.engine import AlertEngine
from aedfleet.alerts.rules import RULES, Finding, Rule, hold
from aedfleet.alerts.settings import Settings
from aedfleet.alerts.state import CabinetState
from aedfleet.collector import protocol as p
from aedfleet.collector.inventory import Cabinet
from aedfleet.notify import router as router_module
from aedfleet.notify import text as text_module
from aedfleet.notify.router import Router, RoutingConfig
from aedfleet.notify.text import compose
from tests.alerts.test_engine import CAB, MIN, T0, event, online, telemetry

GUARDIAN = "+8613800000001"
CABINET = Cabinet(
    id=CAB, name="Binzhou Central Station", site="station", district="Bincheng",
    address="1 Station Road", lat=37.38, lon=118.01, access_hours="24h", guardian_name="Li",
    guardian_phone=GUARDIAN, technician_phone="+8613800000002", aed_model="HeartStart FRx",
    install_date=datetime.date(2025, 6, 1),
)  # fmt: skip


def _rule_names_tested(source: str) -> set[str]:
    """Rule names a module compares with (`rule == "offline"`, `in ("opened", ...)`) or looks
    up (`x["offline"]`, `x.get("opened")`): the ways code special-cases a rule."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            looked = [node.left, *node.comparators]
        elif isinstance(node, ast.Subscript):
            looked = [node.slice]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            looked = list(node.args) if node.func.attr == "get" else []
        else:
            continue
        for part in looked:
            for leaf in ast.walk(part):
                if isinstance(leaf, ast.Constant) and leaf.value in RULES:
                    found.add(str(leaf.value))
    return found


@pytest.mark.parametrize("module", [engine_module, shell, router_module, text_module])
def test_no_rule_is_special_cased_outside_the_catalogue(module: ModuleType) -> None:
    source = Path(str(module.__file__)).read_text(encoding="utf-8")
    assert _rule_names_tested(source) == set(), module.__name__


def test_the_check_sees_a_name_check() -> None:
    assert _rule_names_tested('if rule == "offline" or x.get("opened"): y["link"]') == {
        "offline",
        "opened",
        "link",
    }


def _lid_rattles(s: CabinetState, _cfg: Settings, _now: int, _firing: bool) -> Finding | None:
    return Finding("warning", "lid rattles", s.last_seen_ms) if s.door_open else None


def test_a_new_rule_is_one_entry_with_its_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = Rule(_lid_rattles, ("guardian",), "柜门松动", fire_after_ms=hold(2 * MIN),
                resolve_after_ms=hold(MIN), not_ready_rank=0)  # fmt: skip
    monkeypatch.setitem(rules_module.RULES, "lid", rule)
    alerts = AlertEngine(Settings(), broker_grace_ms=0)
    alerts.broker_connected(True, 0)
    alerts.on_message(online(T0), T0)
    alerts.on_message(telemetry(T0), T0)
    alerts.on_message(event(p.DoorOpen, 2, T0 + 1000), T0 + 1000)
    assert [t.kind for t in alerts.tick(T0 + MIN) if t.rule == "lid"] == []  # held 2 minutes
    fired = [t for t in alerts.tick(T0 + 3 * MIN) if t.rule == "lid"]
    assert [t.kind for t in fired] == ["firing"]
    assert alerts.readiness(CAB) == ("not_ready", "lid rattles")  # ranked before "opened"
    # its routes and its words are its own
    router = Router(RoutingConfig(duty_officers=("+8613900000000",), quiet_hours=""))
    assert router.recipients(fired[0], rule.routes, CABINET) == [GUARDIAN]
    assert "柜门松动" in compose(fired[0], CABINET, what_zh=rule.text_zh, language="zh")
    alerts.on_message(event(p.DoorClose, 3, T0 + 4 * MIN, open_s=180), T0 + 4 * MIN)
    assert [t.kind for t in alerts.tick(T0 + 4 * MIN + 30_000) if t.rule == "lid"] == []
    resolved = [t.kind for t in alerts.tick(T0 + 5 * MIN + 1000) if t.rule == "lid"]
    assert resolved == ["resolved"]


def test_only_the_offline_rule_means_offline_and_is_judged_first() -> None:
    offline = [name for name, rule in RULES.items() if rule.means_offline]
    assert offline == ["offline"]
    assert not RULES["offline"].inhibited_while_offline
    assert all(r.inhibited_while_offline for n, r in RULES.items() if n != "offline")
