"""Secret files and folders: written so that no one else can read them, not even for a moment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private(path: Path, data: bytes, *, group: int | None = None) -> None:
    """Write a secret file that is never readable by others, not even for a moment: created
    under a temporary name with its final mode (0600, or 0640 for the broker's group), then
    renamed over the old one."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    mode = 0o600 if group is None else 0o640
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if group is not None:
            os.fchown(descriptor, -1, group)
        os.fchmod(descriptor, mode)  # the umask may have taken bits away, never added any
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    temporary.replace(path)


def private_folder(directory: Path, *, group: int | None = None) -> None:
    """A folder only its owner (and with `group`, the broker's group, read-only) may enter:
    made so, or made so again when `broker config` wrote it before; any other folder that
    exists already is left as it is (the files in it are private anyway)."""
    ours = not directory.exists() or (directory / "credentials.json").exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not ours:
        return
    if group is not None:
        os.chown(directory, -1, group)
    directory.chmod(0o700 if group is None else 0o750)
