"""is_transient(exc), is_store_fault(exc): one place that decides which errors are worth retrying.

Transient: the connection or the server went away, the server is starting or shutting down, a
serialization failure or deadlock, a lack of resources. Retrying later can succeed.
A store fault: the schema or the grants are wrong. Retrying after the operator's fix succeeds.
Anything else (data and integrity errors, a value no encoder can write, any exception at all):
retrying the same rows fails the same way, so the writer isolates the rows instead.
"""

from __future__ import annotations

import psycopg

# SQLSTATE classes (first two characters) and codes; see PostgreSQL's "Appendix A. Error Codes".
_TRANSIENT_CLASSES = frozenset({"08", "53", "57", "58"})  # connection, resources, operator, system
_TRANSIENT_CODES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock timeout
# Syntax error or access rule violation (undefined table, insufficient privilege), invalid
# authorization, invalid catalog (database) name, invalid schema name.
_STORE_FAULT_CLASSES = frozenset({"42", "28", "3D", "3F"})


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


def is_store_fault(exc: BaseException) -> bool:
    """The store itself is wrong (a table or column missing, a permission, the database's name).

    No message can cause these: every statement is fixed SQL with typed parameters. So the
    writer neither rejects nor drops anything for them: it waits for the fix and retries, as for
    an outage. Everything else that is not transient is some message's fault, whatever its type.
    """
    if not isinstance(exc, psycopg.Error) or exc.sqlstate is None:
        return False
    return exc.sqlstate[:2] in _STORE_FAULT_CLASSES
