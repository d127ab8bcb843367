"""Who the embedded servers run as, and the data directories they may use.

Running as root: PostgreSQL refuses root, so initdb, postgres and mosquitto run as the system
account `courtyard` (created with useradd if missing; `nobody` if that fails), switched to in the
child before exec. Their `data_dir` is chowned to that account, and every directory above it must
already be open to it: nothing here loosens the permissions of a parent directory (such as /root
or pytest's 0700 temp root); such a `data_dir` raises EmbeddedError. `default_data_dir()` is
/var/lib/courtyard for root.
"""

from __future__ import annotations

import functools
import logging
import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import platformdirs

logger = logging.getLogger(__name__)

SERVICE_ACCOUNT = "courtyard"
ROOT_DATA_DIR = Path("/var/lib/courtyard")


class EmbeddedError(RuntimeError):
    """An embedded server could not be found, prepared, started or stopped."""


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    uid: int
    gid: int


@functools.cache
def service_account() -> Account | None:
    """The unprivileged account servers run as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in (SERVICE_ACCOUNT, "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            if name != SERVICE_ACCOUNT:
                continue
            useradd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
            result = subprocess.run([*useradd, name], capture_output=True, text=True, check=False)
            try:  # another process may have created it concurrently: look again either way
                entry = pwd.getpwnam(name)
            except KeyError:
                logger.warning("could not create account %s: %s", name, result.stderr.strip())
                continue
            logger.info("created system account %s for the embedded servers", name)
        return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    raise EmbeddedError(f"running as root and neither {SERVICE_ACCOUNT!r} nor 'nobody' exists")


def default_data_dir() -> Path:
    """Where `courtyard up` keeps embedded data: /var/lib/courtyard as root, else the user's."""
    if os.geteuid() == 0:
        return ROOT_DATA_DIR
    return Path(platformdirs.user_data_dir("courtyard"))


def prepare_dir(path: Path, account: Account | None) -> Path:
    """Create `path` (0700) and hand it to `account`; its parents must already be open to it."""
    path = path.absolute()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if account is not None:
        if not traversable(path.parent, account):
            raise EmbeddedError(
                f"{path}: a parent directory is closed to the {account.name!r} account the "
                f"servers run as (root's home, or pytest's 0700 temp root). Put the data under "
                f"{ROOT_DATA_DIR} or another directory that account can traverse; courtyard "
                "does not loosen the permissions of parent directories."
            )
        os.chown(path, account.uid, account.gid)
    return path


def traversable(path: Path, account: Account) -> bool:
    """Whether `account` may search every directory from / down to `path` (mode bits; no ACLs)."""
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == account.uid:
            needed = stat.S_IXUSR
        elif st.st_gid == account.gid:
            needed = stat.S_IXGRP
        else:
            needed = stat.S_IXOTH
        if not st.st_mode & needed:
            return False
    return True


def write_for(path: Path, text: str, account: Account | None) -> None:
    path.write_text(text, encoding="utf-8")
    if account is not None:
        os.chown(path, account.uid, account.gid)
