"""Releases for the firmware's update tests, in the format firmware/ota.py installs: a manifest
listing every file with its size and SHA-256, signed with Ed25519 (the `cryptography`
package, as the server signs), and each file cut into retained chunks on
<prefix>/v1/fw/<version>/<file>/<index>."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from aedfleet.firmware_tools import FIRMWARE_DIR, HOST_ONLY

CHUNK = 1024  # firmware/ota.py CHUNK
MAGIC = "aedfleet firmware 1"  # firmware/ota.py MAGIC
LOADER = ("boot.py", "main.py", "slots.py")  # never in a release
MANIFEST = "manifest"


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def manifest_text(version: str, files: dict[str, bytes]) -> bytes:
    lines = [MAGIC, f"version {version}"]
    for name in sorted(files):
        lines.append(f"file {name} {len(files[name])} {hashlib.sha256(files[name]).hexdigest()}")
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Release:
    version: str
    files: dict[str, bytes]
    manifest: bytes
    signature: bytes

    def offer(self) -> dict[str, object]:
        """The `fw` member of a cabinet's retained config."""
        return {
            "ver": self.version,
            "size": len(self.manifest),
            "sha256": hashlib.sha256(self.manifest).hexdigest(),
            "sig": base64.b64encode(self.signature).decode(),
        }

    def chunks(self, prefix: str = "aed") -> Iterator[tuple[str, bytes]]:
        for name, data in [(MANIFEST, self.manifest), *sorted(self.files.items())]:
            for index, start in enumerate(range(0, len(data), CHUNK)):
                yield f"{prefix}/v1/fw/{self.version}/{name}/{index}", data[start : start + CHUNK]


def sign(version: str, files: dict[str, bytes], key: Ed25519PrivateKey) -> Release:
    manifest = manifest_text(version, files)
    return Release(version, files, manifest, key.sign(manifest))


def firmware_files(version: str) -> dict[str, bytes]:
    """Today's application modules as source (the unix port runs .py) with FIRMWARE_VERSION
    set to `version`: everything but the loader and the host-only simulated board."""
    files = {}
    for path in sorted(FIRMWARE_DIR.glob("*.py")):
        if path.name in LOADER or path.name in HOST_ONLY:
            continue
        files[path.name] = path.read_bytes()
    old = b'FIRMWARE_VERSION = "'
    head, _, rest = files["config.py"].partition(old)
    files["config.py"] = head + old + version.encode() + b'"' + rest.split(b'"', 1)[1]
    return files
