"""Releases of today's sources for the firmware's update tests: the unix port runs .py, so
the files are the modules' sources (a real release, `aedfleet firmware release`, is .mpy for
the ESP32), signed and chunked by aedfleet.firmware_release as the server does."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aedfleet.firmware_release import CHUNK, LOADER, Release, public_key_b64, sign
from aedfleet.firmware_tools import FIRMWARE_DIR, HOST_ONLY

__all__ = ["CHUNK", "Release", "firmware_files", "key_b64", "sign"]


def key_b64(key: Ed25519PrivateKey) -> str:
    """The public half as a cabinet's `ota_key` holds it."""
    return public_key_b64(key.public_key())


def firmware_files(version: str) -> dict[str, bytes]:
    """Today's application modules as source with FIRMWARE_VERSION set to `version`:
    everything but the loader and the host-only simulated board."""
    files = {}
    for path in sorted(FIRMWARE_DIR.glob("*.py")):
        if path.stem in LOADER or path.name in HOST_ONLY:
            continue
        files[path.name] = path.read_bytes()
    old = b'FIRMWARE_VERSION = "'
    head, _, rest = files["config.py"].partition(old)
    files["config.py"] = head + old + version.encode() + b'"' + rest.split(b'"', 1)[1]
    return files
