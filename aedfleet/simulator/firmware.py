"""The firmware's own modules (firmware/*.py), loaded under the package name `aedfleet_firmware`
so the simulator runs exactly the code that is flashed; and a version a simulated cabinet
installed over the air, loaded from its slot folder under a package of its own.

On the board the modules import each other by flat names (`import config`, `from link import
Link`). Here each one is executed with an `__import__` of its own that answers those names with
the sibling module, so no top-level `config`, `app` or `link` ever enters `sys.modules`, and no
firmware folder ever goes onto `sys.path`. MicroPython code with no type hints: typed as Any
here."""

from __future__ import annotations

import builtins
import hashlib
import sys
import types
from pathlib import Path
from typing import Any, Final

from aedfleet.firmware_tools import FIRMWARE_DIR
from aedfleet.simulator.connections import firmware_asyncio

PACKAGE: Final = "aedfleet_firmware"
FIRMWARE_ASYNCIO: Final = firmware_asyncio()


class Firmware:
    """One version of the firmware: module sources by flat name, executed on first import
    as `<package>.<name>`. The sources are read when the copy is made, so a slot rewritten
    later (its next update) never changes a version already running."""

    def __init__(self, package: str, sources: dict[str, tuple[Path, bytes]]) -> None:
        self.package = package
        self._sources = sources
        self._builtins = {**vars(builtins), "__import__": self._import}

    def _package(self) -> types.ModuleType:
        package = sys.modules.get(self.package)
        if package is None:
            package = types.ModuleType(self.package, "The cabinet firmware, as simulated.")
            package.__path__ = []  # a package whose modules only this loader creates
            sys.modules[self.package] = package
        return package

    def _import(
        self,
        name: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
        fromlist: tuple[str, ...] | list[str] = (),
        level: int = 0,
    ) -> types.ModuleType:
        if level == 0 and name in self._sources:
            return self.load(name)
        if level == 0 and name == "asyncio":
            return FIRMWARE_ASYNCIO  # each connection kept under its cabinet (connections.py)
        return builtins.__import__(name, globals, locals, fromlist, level)

    def load(self, name: str) -> types.ModuleType:
        """The module `name` (e.g. "app"), executed once, with its flat imports answered by
        its siblings."""
        qualified = f"{self.package}.{name}"
        loaded = sys.modules.get(qualified)
        if loaded is not None:
            return loaded
        if name not in self._sources:
            raise ModuleNotFoundError(f"the firmware has no module {name!r}", name=qualified)
        path, source = self._sources[name]
        module = types.ModuleType(qualified)
        module.__file__ = str(path)
        module.__builtins__ = self._builtins  # type: ignore[attr-defined]  # exec keeps it
        package = self._package()
        sys.modules[qualified] = module
        try:
            exec(compile(source, str(path), "exec"), module.__dict__)  # firmware code
        except BaseException:
            del sys.modules[qualified]
            raise
        setattr(package, name, module)
        return module

    @property
    def app(self) -> Any:
        return self.load("app")

    @property
    def config(self) -> Any:
        return self.load("config")


def _read(folder: Path) -> dict[str, tuple[Path, bytes]]:
    return {p.stem: (p, p.read_bytes()) for p in sorted(folder.glob("*.py"))}


FACTORY: Final = Firmware(PACKAGE, _read(FIRMWARE_DIR))
_versions: dict[str, Firmware] = {}


def in_slot(folder: Path) -> Firmware:
    """The firmware a cabinet boots from a slot folder: the slot's modules in front of the
    loader's (`main.py` puts the slot first on `sys.path`; boot.py, main.py, slots.py and the
    simulated board are never in a release). A release here is source (.py), as the unix
    port's update tests use; one loaded copy per distinct set of files, named by its hash."""
    sources = {**_read(FIRMWARE_DIR), **_read(folder)}
    digest = hashlib.sha256()
    for name, (_path, source) in sorted(sources.items()):
        digest.update(f"{name}\0{len(source)}\0".encode() + source)
    key = digest.hexdigest()[:16]
    found = _versions.get(key)
    if found is None:
        found = _versions[key] = Firmware(f"{PACKAGE}_{key}", sources)
    return found


def load(name: str) -> types.ModuleType:
    """A module of the firmware as flashed (firmware/)."""
    return FACTORY.load(name)


app: Any = load("app")
board_sim: Any = load("board_sim")
cabinet: Any = load("cabinet")
config: Any = load("config")
link: Any = load("link")
report: Any = load("report")
slots: Any = load("slots")
