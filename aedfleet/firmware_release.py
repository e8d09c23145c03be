"""Releases for over-the-air updates (docs/ota.md): the application modules built for the
ESP32, a manifest with each file's size and SHA-256, its Ed25519 signature made with the
release key, kept in a release folder that is never overwritten; and the retained chunks
and the `config` offer that carry a release to the cabinets.

The formats are the firmware's (firmware/ota.py): CHUNK, MAGIC and LOADER must match it
(tests/firmware/test_release.py checks)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from aedfleet.broker.files import write_private
from aedfleet.firmware_tools import FIRMWARE_DIR, FirmwareError, build

CHUNK: Final = 1024
MAGIC: Final = "aedfleet firmware 1"
LOADER: Final = ("boot", "main", "slots")  # flashed over USB only, never in a release
MANIFEST: Final = "manifest"
VERSION_PATTERN: Final = re.compile(r"^[0-9A-Za-z._-]{1,24}$")


def firmware_version(source: Path = FIRMWARE_DIR) -> str:
    """FIRMWARE_VERSION as firmware/config.py states it: what the release reports once run."""
    found = re.search(r'^FIRMWARE_VERSION = "([^"]+)"$', (source / "config.py").read_text(), re.M)
    if found is None:
        raise FirmwareError("firmware/config.py has no FIRMWARE_VERSION line")
    return found.group(1)


def new_key(path: Path) -> str:
    """A new release key, owner-only in `path` (PEM); returns its public half for `ota_key`.
    Refuses to overwrite an existing key: the fleet trusts exactly one."""
    if path.exists():
        raise FirmwareError(f"{path} exists: a fleet keeps its release key")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return public_key_b64(key.public_key())


def load_key(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise FirmwareError(f"{path} is not an Ed25519 key")
    return key


def public_key_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def manifest_text(version: str, files: dict[str, bytes]) -> bytes:
    """The signed bytes: the version, then every file with its size and SHA-256, by name."""
    lines = [MAGIC, f"version {version}"]
    for name in sorted(files):
        digest = hashlib.sha256(files[name]).hexdigest()
        lines.append(f"file {name} {len(files[name])} {digest}")
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
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
        """The retained messages that carry the release: the manifest, then each file."""
        for name, data in [(MANIFEST, self.manifest), *sorted(self.files.items())]:
            for index, start in enumerate(range(0, len(data), CHUNK)):
                yield f"{prefix}/v1/fw/{self.version}/{name}/{index}", data[start : start + CHUNK]

    def verify(self, public_key: Ed25519PublicKey) -> None:
        """Raises FirmwareError unless the manifest is signed by `public_key` and every file
        matches it (as a cabinet checks)."""
        try:
            public_key.verify(self.signature, self.manifest)
        except InvalidSignature as error:
            raise FirmwareError(f"release {self.version}: the signature does not match") from error
        if manifest_text(self.version, self.files) != self.manifest:
            raise FirmwareError(f"release {self.version}: the files do not match the manifest")


def sign(version: str, files: dict[str, bytes], key: Ed25519PrivateKey) -> Release:
    if not VERSION_PATTERN.match(version) or version == "status":  # `rollout status` is a verb
        raise FirmwareError(f"version {version!r} must be 1-24 of 0-9 A-Z a-z . _ -")
    manifest = manifest_text(version, files)
    return Release(version, dict(files), manifest, key.sign(manifest))


def release(key_path: Path, releases: Path) -> Release:
    """Build the firmware for the ESP32, sign its application modules with the release key
    and keep them in releases/<version>/ (refused if that version was released before)."""
    version = firmware_version()
    folder = releases / version
    if folder.exists():
        raise FirmwareError(f"{folder} exists: bump FIRMWARE_VERSION in firmware/config.py")
    key = load_key(key_path)
    with tempfile.TemporaryDirectory() as scratch:
        built = build(Path(scratch))
        files = {p.name: p.read_bytes() for p in built if p.stem not in LOADER}
    made = sign(version, files, key)
    staging = releases / f".{version}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "files").mkdir(parents=True)
    for name, data in made.files.items():
        (staging / "files" / name).write_bytes(data)
    (staging / MANIFEST).write_bytes(made.manifest)
    (staging / "manifest.sig").write_bytes(made.signature)
    (staging / "offer.json").write_text(json.dumps(made.offer(), indent=1) + "\n")
    staging.rename(folder)  # whole or not at all
    return made


def load(folder: Path) -> Release:
    """A release kept by `release`, as it was signed."""
    manifest = (folder / MANIFEST).read_bytes()
    version = manifest.decode().splitlines()[1].removeprefix("version ")
    files = {p.name: p.read_bytes() for p in sorted((folder / "files").iterdir())}
    return Release(version, files, manifest, (folder / "manifest.sig").read_bytes())
