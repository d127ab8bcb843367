"""Shared pieces of the HTTP contract: the error body, identifiers, and page envelopes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

#: Sites, devices, households, people and rules are named like wire-format identifiers.
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
#: Metric names, as on the wire.
METRIC_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
#: Free text people type (comments, notes): no NUL, which PostgreSQL text cannot hold.
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")]
#: Largest value of a PostgreSQL bigint: ids beyond it cannot exist.
MAX_ID = 2**63 - 1


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Body(Model):
    """A request body. PostgreSQL cannot store NUL characters or unpaired surrogates (text or
    jsonb): a body holding one anywhere is refused with 422 naming where."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        where = unstorable_text(data, "")
        if where is not None:
            raise ValueError(
                f"{where or 'body'}: text must not contain NUL characters or unpaired surrogates"
            )
        return data


def unstorable_text(value: object, path: str) -> str | None:
    """The dotted path of the first string (or key) PostgreSQL cannot store, else None."""
    if isinstance(value, str):
        return path if "\x00" in value or not _encodable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and ("\x00" in key or not _encodable(key)):
                return here
            found = unstorable_text(item, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_text(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class FieldProblem(Model):
    field: str = Field(description="Where the problem is: `query.limit`, `body.params.above`.")
    message: str


class ErrorDetail(Model):
    code: str = Field(description="A stable English identifier: `not_found`, `invalid_request`…")
    message: str = Field(description="What went wrong, for people.")
    fields: list[FieldProblem] = Field(
        default_factory=list, description="For `invalid_request`: each offending field."
    )


class ErrorResponse(Model):
    error: ErrorDetail


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    described = {
        400: "The request cannot be handled as sent.",
        401: "No valid token or session.",
        403: "The caller's role or token does not allow this.",
        404: "No such resource, or not one the caller may see.",
        409: "The resource's state does not allow this change.",
        413: "The request body is too large.",
        415: "The request body's media type is not one this route reads.",
        422: "A parameter or field is invalid; `fields` names it.",
        429: "Too many attempts: wait as long as Retry-After says.",
        503: "The service cannot answer right now.",
    }
    return {code: {"model": ErrorResponse, "description": described[code]} for code in codes}
