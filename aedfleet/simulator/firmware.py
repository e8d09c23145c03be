"""The firmware's own modules (firmware/*.py), loaded under the package name `aedfleet_firmware`
so the simulator runs exactly the code that is flashed.

On the board the modules import each other by flat names (`import config`, `from link import
Link`). Here each one is executed with an `__import__` of its own that answers those names with
the sibling module, so no top-level `config`, `app` or `link` ever enters `sys.modules`, and the
folder never goes onto `sys.path`. MicroPython code with no type hints: typed as Any here."""

from __future__ import annotations

import builtins
import importlib.util
import sys
import types
from typing import Any, Final

from aedfleet.firmware_tools import FIRMWARE_DIR

PACKAGE: Final = "aedfleet_firmware"
_NAMES: Final = frozenset(p.stem for p in FIRMWARE_DIR.glob("*.py"))


def _package() -> types.ModuleType:
    package = sys.modules.get(PACKAGE)
    if package is None:
        package = types.ModuleType(PACKAGE, "The cabinet firmware, as the simulator runs it.")
        package.__path__ = []  # a package whose modules only this loader creates
        sys.modules[PACKAGE] = package
    return package


def _firmware_import(
    name: str,
    globals: dict[str, Any] | None = None,
    locals: dict[str, Any] | None = None,
    fromlist: tuple[str, ...] | list[str] = (),
    level: int = 0,
) -> types.ModuleType:
    if level == 0 and name in _NAMES:
        return load(name)
    return builtins.__import__(name, globals, locals, fromlist, level)


_BUILTINS: Final = {**vars(builtins), "__import__": _firmware_import}


def load(name: str) -> types.ModuleType:
    """The firmware module `name` (e.g. "app"), executed once, with its flat imports answered
    by its siblings."""
    qualified = f"{PACKAGE}.{name}"
    loaded = sys.modules.get(qualified)
    if loaded is not None:
        return loaded
    if name not in _NAMES:
        raise ModuleNotFoundError(f"the firmware has no module {name!r}", name=qualified)
    path = FIRMWARE_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(qualified, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__builtins__ = _BUILTINS  # type: ignore[attr-defined]  # exec keeps it
    package = _package()
    sys.modules[qualified] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[qualified]
        raise
    setattr(package, name, module)
    return module


app: Any = load("app")
board_sim: Any = load("board_sim")
cabinet: Any = load("cabinet")
config: Any = load("config")
link: Any = load("link")
report: Any = load("report")
