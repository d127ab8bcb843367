"""Tests for store/errors.py: which failures are retried, which are waited out, which isolated."""

from __future__ import annotations

import orjson
import psycopg
import pytest
from psycopg import errors

from store.errors import is_store_fault, is_transient


def orjson_depth_error() -> Exception:
    nested: object = 1
    for _ in range(300):
        nested = [nested]
    try:
        orjson.dumps(nested)
    except TypeError as exc:
        return exc
    raise AssertionError("orjson wrote 300 levels")


@pytest.mark.parametrize(
    ("exc", "transient", "store_fault"),
    [
        pytest.param(psycopg.OperationalError("server closed"), True, False, id="connection-lost"),
        pytest.param(errors.AdminShutdown("m"), True, False, id="admin-shutdown"),
        pytest.param(errors.SerializationFailure("m"), True, False, id="serialization"),
        pytest.param(errors.DiskFull("m"), True, False, id="disk-full"),
        pytest.param(errors.UndefinedTable("m"), False, True, id="table-missing"),
        pytest.param(errors.UndefinedColumn("m"), False, True, id="column-missing"),
        pytest.param(errors.InsufficientPrivilege("m"), False, True, id="no-grant"),
        pytest.param(errors.InvalidCatalogName("m"), False, True, id="database-missing"),
        pytest.param(errors.InvalidSchemaName("m"), False, True, id="schema-missing"),
        # Some message's fault: isolated and rejected.
        pytest.param(errors.CheckViolation("m"), False, False, id="constraint"),
        pytest.param(errors.UntranslatableCharacter("m"), False, False, id="nul-in-jsonb"),
        pytest.param(errors.ProgramLimitExceeded("m"), False, False, id="index-row-too-big"),
        pytest.param(psycopg.DataError("NUL"), False, False, id="psycopg-adaptation"),
        pytest.param(orjson_depth_error(), False, False, id="orjson-recursion"),
        pytest.param(RecursionError(), False, False, id="recursion"),
        pytest.param(MemoryError(), False, False, id="memory"),
        pytest.param(ValueError("m"), False, False, id="value-error"),
    ],
)
def test_classification(exc: Exception, transient: bool, store_fault: bool) -> None:
    assert (is_transient(exc), is_store_fault(exc)) == (transient, store_fault)
