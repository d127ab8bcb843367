"""Several uvicorn processes on one listening socket, for `courtyard api` with workers > 1.

The parent binds the socket, then forks the workers before any of them starts its lifespan: no
pool, thread or connection exists yet, so each worker opens its own. uvicorn's own `workers`
option re-imports the application by name in spawned processes, which cannot carry the
application object (and the rule service) that `courtyard` builds. The kernel spreads the
connections over the workers. SIGTERM or Ctrl-C stops them all; a worker that dies on its own
stops the others too, and the parent exits non-zero, so the process manager restarts the lot.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from types import FrameType

import uvicorn

logger = logging.getLogger(__name__)


def run(config: uvicorn.Config, workers: int) -> int:
    """Serve with `workers` forked processes until a signal or a worker's death; exit status."""
    sock = config.bind_socket()
    children: set[int] = set()
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            _signal(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(workers):
            if stopping:  # a signal while forking: start no more
                break
            pid = os.fork()
            if pid == 0:  # the worker: uvicorn installs its own signal handlers
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                status = 1
                try:
                    server = uvicorn.Server(config)
                    server.run(sockets=[sock])
                    status = 0 if server.started else 3  # 3: uvicorn's startup failure
                except BaseException:
                    logger.exception("API worker %d failed", os.getpid())
                finally:
                    os._exit(status)
            children.add(pid)
        logger.info("API: %d workers on %s:%d", workers, config.host, config.port)
        failed = False
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            if not stopping:
                logger.error("API worker %d exited (status %d); stopping the others", pid, status)
                failed = True
                stop(signal.SIGTERM, None)
        return 1 if failed else 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
