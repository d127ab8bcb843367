"""A capture server for webhook and Apprise tests: real HTTP on loopback, in a thread.

It records every request, answers with a status the test sets (or a handler of the test's), and
can hold requests open until released, to play a slow receiver. `reserve_port` gives a port with
nothing listening on it, which refuses connections until a Capture is started there: a receiver
that is down.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: A held request gives up after this long, so a failing test cannot hang on it.
_HOLD_LIMIT_S = 120.0


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


def reserve_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Capture:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[Request] = []
        self.status = 200
        #: When set, decides the answer instead of `status`.
        self.respond: Callable[[Request], int] | None = None
        #: While set (not None and not set), requests wait for it before being answered.
        self.release: threading.Event | None = None
        self.held = 0
        self._lock = threading.Lock()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.path, dict(self.headers.items()), self.rfile.read(length))
                with capture._lock:
                    capture.requests.append(request)
                release = capture.release
                if release is not None:
                    with capture._lock:
                        capture.held += 1
                    release.wait(_HOLD_LIMIT_S)
                    with capture._lock:
                        capture.held -= 1
                status = capture.respond(request) if capture.respond else capture.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"capture-{self.port}", daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> Capture:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.release is not None:
            self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
