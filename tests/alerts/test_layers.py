"""alerts/ uses notify/, never the other way round: notify/ (routing, texts, the send queue,
the providers) knows nothing of the engine, and what both need is notify/messages.py."""

from __future__ import annotations

import ast
from pathlib import Path

import aedfleet

ROOT = Path(aedfleet.__file__).parent


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_notify_never_imports_alerts() -> None:
    reaching_back = {
        path.name: sorted(m for m in _imported(path) if m.startswith("aedfleet.alerts"))
        for path in sorted((ROOT / "notify").glob("*.py"))
    }
    assert {name: found for name, found in reaching_back.items() if found} == {}
