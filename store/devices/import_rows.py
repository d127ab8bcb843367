"""Parse a bulk device import (CSV, JSON or YAML rows) into rows of facts, each error naming its
row and field. Pure: store/devices/device_imports.py checks the rows against the store.

Columns (CSV header, or JSON keys): `device_key` (required: the device id of its topic), `name`,
`name.<language>` (e.g. `name.zh-CN`; JSON may give `names` as an object instead), `kind`,
`building` (or `building_id`), `unit`, `room`, `household` (or `household_id`), `role`,
`role_room`, `installed_on` (YYYY-MM-DD), `notes`. An empty CSV cell or a missing JSON/YAML key
leaves the fact as it is; a null clears it. JSON and YAML give a list of rows, or
`{"devices": [...]}`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import orjson
import yaml

from store.devices.device_edits import DEVICE_KEY, FIELDS, LANGUAGE_TAG, check_values

#: More rows than this is not one community's onboarding: refused as a whole.
MAX_ROWS = 20_000
_ALIASES = {"building": "building_id", "household": "household_id"}


@dataclass(frozen=True, slots=True)
class ImportRow:
    #: 1 for the first device row (the CSV header is not counted).
    row: int
    device_key: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # 0: the file as a whole
    field: str
    code: str
    message: str


def parse_import(content: str, fmt: str) -> tuple[list[ImportRow], list[RowError]]:
    """Rows of the file and what is wrong in it; `fmt` is "csv", "json" or "yaml"."""
    if fmt == "csv":
        records, errors = _csv_records(content)
    else:
        records, errors = _structured_records(content, fmt)
    if errors:
        return [], errors
    if len(records) > MAX_ROWS:
        return [], [RowError(0, "", "too_many_rows", f"more than {MAX_ROWS} rows")]
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    for number, record in enumerate(records, start=1):
        row, row_errors = _row(number, record)
        errors += row_errors
        if row is None:
            continue
        if row.device_key in seen:
            errors.append(
                RowError(number, "device_key", "duplicate_device",
                         f"{row.device_key!r} is on row {seen[row.device_key]} too")
            )  # fmt: skip
        seen.setdefault(row.device_key, number)
        rows.append(row)
    return rows, errors


def _csv_records(content: str) -> tuple[list[dict[str, object]], list[RowError]]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = reader.fieldnames or []
    unknown = [c for c in header if _column(c) is None]
    if unknown or "device_key" not in header:
        problem = f"unknown columns {unknown}" if unknown else "no device_key column"
        return [], [RowError(0, "", "bad_header", problem)]
    records: list[dict[str, object]] = []
    for record in reader:
        if None in record:
            return [], [RowError(reader.line_num, "", "bad_row", "more cells than columns")]
        records.append({k: v.strip() for k, v in record.items() if v is not None and v.strip()})
    return records, []


def _structured_records(content: str, fmt: str) -> tuple[list[dict[str, object]], list[RowError]]:
    data: object
    try:
        # YAML dates stay text here, as in CSV and JSON: one parser reads them all.
        data = orjson.loads(content) if fmt == "json" else yaml.load(content, _TextLoader)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        return [], [RowError(0, "", f"bad_{fmt}", str(exc))]
    if isinstance(data, dict) and isinstance(data.get("devices"), list):
        data = data["devices"]
    if not isinstance(data, list):
        return [], [RowError(0, "", f"bad_{fmt}", "must be a list of device rows")]
    records: list[dict[str, object]] = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            return [], [RowError(number, "", "bad_row", "each row must be an object of facts")]
        records.append(item)
    return records, []


class _TextLoader(yaml.SafeLoader):
    """Safe YAML without implicit dates and times (an install date arrives as its text)."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _column(name: str) -> str | None:
    """The fact a column sets, or None when it is not one."""
    if name == "device_key":
        return name
    if name.startswith("name.") and LANGUAGE_TAG.match(name.removeprefix("name.")):
        return "names"
    fact = _ALIASES.get(name, name)
    return fact if fact in FIELDS else None


def _row(number: int, record: Mapping[str, object]) -> tuple[ImportRow | None, list[RowError]]:
    errors: list[RowError] = []
    key = record.get("device_key")
    if not isinstance(key, str) or not DEVICE_KEY.match(key):
        errors.append(
            RowError(number, "device_key", "invalid_id", "must match [A-Za-z0-9_.-]{1,64}")
        )
    values: dict[str, object] = {}
    names: dict[str, object] = {}
    for raw_column, value in record.items():
        column = str(raw_column)
        fact = _column(column)
        if column == "device_key":
            continue
        if fact is None:
            errors.append(RowError(number, column, "unknown_field", "is not a device fact"))
        elif fact == "names" and column != "names":
            names[column.removeprefix("name.")] = value
        elif fact == "installed_on" and isinstance(value, str):
            try:
                values[fact] = date.fromisoformat(value)
            except ValueError:
                errors.append(RowError(number, fact, "invalid_date", "must be YYYY-MM-DD"))
        else:
            values[fact] = value
    if names:
        given = values.get("names")
        values["names"] = {**(given if isinstance(given, dict) else {}), **names}
    errors += [RowError(number, e.field, e.code, e.message) for e in check_values(values)]
    if errors:
        return None, errors
    assert isinstance(key, str)
    return ImportRow(number, key, values), []
