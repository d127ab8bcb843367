"""Path and query parameters shared by the routes, with their constraints and descriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime

from api.schemas.common import ID_PATTERN, MAX_ID, METRIC_PATTERN


def _plausible(value: datetime) -> datetime:
    # Far-off dates hold no data, and arithmetic on them can overflow: refuse them as input.
    if not 1970 <= value.year <= 2200:
        raise ValueError("must be between the years 1970 and 2200")
    return value


Time = Annotated[AwareDatetime, AfterValidator(_plausible)]

SiteId = Annotated[str, Path(pattern=ID_PATTERN, description="A site id.")]
HouseholdId = Annotated[str, Path(pattern=ID_PATTERN, description="A household id (per site).")]
PersonId = Annotated[str, Path(pattern=ID_PATTERN, description="A person id.")]
RuleId = Annotated[str, Path(pattern=ID_PATTERN, description="A rule id.")]
DeviceId = Annotated[int, Path(ge=1, le=MAX_ID, description="A device's numeric id.")]
AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="An alert id.")]
AssignmentId = Annotated[int, Path(ge=1, le=MAX_ID, description="An assignment id.")]

SiteFilter = Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this site.")]
HouseholdFilter = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="Only this household.")
]
Metric = Annotated[
    str, Query(pattern=METRIC_PATTERN, description="A metric name, e.g. `level_pct`.")
]
Cursor = Annotated[
    str | None,
    Query(max_length=1000, description="`next_cursor` of the previous page."),
]
Start = Annotated[Time | None, Query(description="From this time (inclusive, RFC 3339).")]
End = Annotated[Time | None, Query(description="Until this time (exclusive, RFC 3339).")]


PageSize = Annotated[int, Query(ge=1, le=500, description="Items per page (at most 500).")]
