"""One `courtyard up` per data directory: an exclusive lock on `courtyard.lock` in it.

A second `courtyard up` on the same directory would start a second PostgreSQL on the same
cluster (refused by PostgreSQL, in several lines of its log) and a second broker on the same
persistence file. The lock is taken before anything starts and is released by the kernel when
the process ends, however it ends; the file keeps the holder's pid for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from courtyard.cli_text import _
from courtyard.settings import ConfigError

LOCK_NAME = "courtyard.lock"


@contextlib.contextmanager
def hold(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's lock while the block runs; ConfigError when another process
    holds it. A directory we cannot write is not refused here: starting a server in it fails
    with its own reason."""
    path = data_dir / LOCK_NAME
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(_in_use(data_dir, _holder(descriptor))) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _holder(descriptor: int) -> int | None:
    """The pid the holder wrote, if it wrote one yet."""
    try:
        return int(os.pread(descriptor, 32, 0).decode().strip())
    except (OSError, ValueError):
        return None


def _in_use(data_dir: Path, pid: int | None) -> str:
    if pid is None:
        return _(
            "The data directory {path} is in use by another `courtyard up`: stop it, or set"
            " COURTYARD_DATA_DIR to another directory."
        ).format(path=data_dir)
    return _(
        "The data directory {path} is in use by another `courtyard up` (pid {pid}): stop it,"
        " or set COURTYARD_DATA_DIR to another directory."
    ).format(path=data_dir, pid=pid)
