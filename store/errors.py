"""is_transient(exc): one place that decides which database errors are worth retrying.

Transient: the connection or the server went away, the server is starting or shutting down, a
serialization failure or deadlock, a lack of resources. Retrying later can succeed.
Permanent: everything else (data and integrity errors, syntax, permissions). Retrying the same
rows fails the same way, so the writer isolates the rows instead.
"""

from __future__ import annotations

import psycopg

# SQLSTATE classes (first two characters) and codes; see PostgreSQL's "Appendix A. Error Codes".
_TRANSIENT_CLASSES = frozenset({"08", "53", "57", "58"})  # connection, resources, operator, system
_TRANSIENT_CODES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock timeout


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        state = getattr(exc, "sqlstate", None)
        # A connection-level failure carries no SQLSTATE: the server is gone or unreachable.
        if state is None:
            return True
        return _transient_state(state)
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        return state is not None and _transient_state(state)
    return isinstance(exc, ConnectionError | TimeoutError)


def _transient_state(state: str) -> bool:
    return state in _TRANSIENT_CODES or state[:2] in _TRANSIENT_CLASSES


def is_data_error(exc: BaseException) -> bool:
    """The rows themselves are at fault (bad value, constraint): isolate them as rejects.

    Narrower than "not transient" on purpose: a missing table or a permission error is the
    deployment's fault, and turning every message into a reject would throw the data away.
    """
    if not isinstance(exc, psycopg.Error):
        return False
    if exc.sqlstate is None:
        # Raised by psycopg itself while adapting a value (a NUL byte in a string, say).
        return isinstance(exc, psycopg.DataError)
    return exc.sqlstate[:2] in {"22", "23"}
