"""The running demo's address and token for the `aedfleet alerts` commands: a KEY=value file
(shell-sourceable) under .run/demo/, readable by its owner only, written while the demo runs
and removed when it stops. Light: `aedfleet --help` imports it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

DEMO_DIR: Final = Path(".run/demo")  # relative to the checkout, where `make demo` runs
ENV_FILE: Final = "aedfleet.env"
KEYS: Final = ("AEDFLEET_COLLECTOR_URL", "AEDFLEET_HTTP_TOKEN")


class EnvFileError(Exception):
    """An env file that must not be used; the message says why."""


def env_text(url: str, token: str) -> str:
    return (
        "# written by `aedfleet demo` while it runs (removed when it stops): the demo\n"
        "# collector's alerts API, for `aedfleet alerts` run from this checkout\n"
        f"AEDFLEET_COLLECTOR_URL={url}\nAEDFLEET_HTTP_TOKEN={token}\n"
    )


def read_env(path: Path) -> dict[str, str]:
    """The file's known keys; a file others may read or write (its secret may have leaked, or
    been planted) is refused."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise EnvFileError(f"{path}: {error.strerror}") from error
    with os.fdopen(descriptor, encoding="utf-8", errors="replace") as handle:
        status = os.fstat(handle.fileno())
        if status.st_mode & 0o077 or status.st_uid != os.getuid():
            raise EnvFileError(f"{path} is not private to you (mode {status.st_mode & 0o777:o}); "
                               "not using it")  # fmt: skip
        text = handle.read(4096)
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in KEYS and value.strip():
            values[key.strip()] = value.strip()
    return values
