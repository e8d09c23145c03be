"""On-disk spool: batches kept while InfluxDB is unreachable, backfilled oldest first.

Each batch is one gzip file written to a temporary name, fsynced and renamed, so a crash leaves
either the whole batch or nothing. The spool never grows past its byte budget.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Final

_SUFFIX: Final = ".lp.gz"


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("*.tmp"):
            leftover.unlink()  # a batch a crash interrupted was never acknowledged
        files = self._files()
        self._next_number = int(files[-1].name.removesuffix(_SUFFIX)) + 1 if files else 1
        self._bytes = sum(f.stat().st_size for f in files)

    def _files(self) -> list[Path]:
        return sorted(self._directory.glob(f"*{_SUFFIX}"))

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._files())

    def put(self, body: bytes) -> bool:
        """Store one batch durably; False (nothing written) when it would exceed the budget."""
        compressed = gzip.compress(body, compresslevel=1)
        if self._bytes + len(compressed) > self._max_bytes:
            return False
        final = self._directory / f"{self._next_number:016d}{_SUFFIX}"
        temporary = final.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(compressed)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(final)
        directory = os.open(self._directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._next_number += 1
        self._bytes += len(compressed)
        return True

    def oldest(self) -> tuple[Path, bytes] | None:
        files = self._files()
        if not files:
            return None
        return files[0], gzip.decompress(files[0].read_bytes())

    def remove(self, path: Path) -> None:
        self._bytes -= path.stat().st_size
        path.unlink()
