"""`aedfleet firmware release`'s formats are the firmware's, and a kept release is whole,
signed and never overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aedfleet import firmware_release
from aedfleet.firmware_tools import FirmwareError
from aedfleet.simulator import firmware


def test_the_release_format_is_the_one_the_firmware_installs() -> None:
    ota = firmware.load("ota")
    assert (ota.CHUNK, ota.MAGIC, ota.MANIFEST) == (
        firmware_release.CHUNK,
        firmware_release.MAGIC,
        firmware_release.MANIFEST,
    )
    assert tuple(f"{stem}.py" for stem in firmware_release.LOADER) == ota.LOADER
    made = firmware_release.sign(
        "1.2.3",
        {"app.mpy": b"a" * 3000, "link.mpy": b"l"},
        Ed25519PrivateKey.generate(),
    )
    files = ota.parse_manifest(made.manifest.decode(), "1.2.3")
    assert [name for name, _size, _digest in files] == ["app.mpy", "link.mpy"]
    offer = ota.parse_offer({"fw": made.offer()})
    assert offer[0] == "1.2.3" and offer[3] == made.signature
    topics = [topic for topic, _data in made.chunks()]
    assert topics[0] == "aed/v1/fw/1.2.3/manifest/0"
    assert topics.count("aed/v1/fw/1.2.3/app.mpy/2") == 1  # 3000 bytes: chunks 0, 1, 2


@pytest.mark.micropython
def test_a_release_is_built_signed_kept_whole_and_never_overwritten(tmp_path: Path) -> None:
    key_path = tmp_path / "keys" / "release.key"
    public = firmware_release.new_key(key_path)
    assert len(public) == 44 and key_path.stat().st_mode & 0o077 == 0
    with pytest.raises(FirmwareError, match="keeps its release key"):
        firmware_release.new_key(key_path)
    made = firmware_release.release(key_path, tmp_path / "releases")
    assert made.version == firmware_release.firmware_version()
    assert sorted(made.files) == sorted(
        f"{p.stem}.mpy" for p in firmware.FIRMWARE_DIR.glob("*.py")
        if p.stem not in firmware_release.LOADER and p.name != "board_sim.py"
    )  # fmt: skip
    kept = firmware_release.load(tmp_path / "releases" / made.version)
    assert kept == made
    kept.verify(firmware_release.load_key(key_path).public_key())
    with pytest.raises(FirmwareError, match="signature"):
        kept.verify(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(FirmwareError, match="bump FIRMWARE_VERSION"):
        firmware_release.release(key_path, tmp_path / "releases")


@pytest.mark.micropython
def test_the_release_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from aedfleet.cli import main

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made_key = runner.invoke(main, ["firmware", "release-key"])
    assert made_key.exit_code == 0, made_key.output
    public = made_key.output.strip().rsplit(" ", 1)[1]
    made = runner.invoke(main, ["firmware", "release"])
    assert made.exit_code == 0, made.output
    version = firmware_release.firmware_version()
    kept = firmware_release.load(tmp_path / ".run/releases" / version)
    kept.verify(firmware_release.load_key(tmp_path / ".run/release/release.key").public_key())
    assert (
        firmware_release.public_key_b64(
            firmware_release.load_key(tmp_path / ".run/release/release.key").public_key()
        )
        == public
    )
    again = runner.invoke(main, ["firmware", "release"])
    assert again.exit_code != 0 and "bump FIRMWARE_VERSION" in again.output
