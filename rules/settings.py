"""RulesSettings: the rules engine's section of the settings (COURTYARD_RULES__*)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class RulesSettings(BaseModel):
    #: A rules file (YAML) synchronised into the database at start; None: the shipped defaults
    #: when the database has no rules yet, else what the database holds (the API edits it).
    rules_file: Path | None = None
    #: "wall": now is the wall clock. "event": now follows the newest event time ingested, for
    #: replaying simulated or historical data at any speed.
    clock: Literal["wall", "event"] = "wall"
    #: On event time: how long to wait for data that arrives after newer data (another ingest
    #: worker's batch, a gateway's buffer) before time-based rules judge that moment.
    event_lateness_s: float = Field(default=60.0, ge=0)
    #: On event time: a timestamp further ahead than this of most recent data (a device whose
    #: clock runs fast) moves the clock only when the data bears it out: it continues the
    #: data's own cadence (a lone device reporting hourly), or later data confirms it.
    event_lead_tolerance_s: float = Field(default=300.0, gt=0)
    #: How often time-based conditions (silences, held doors, offline devices) are evaluated.
    tick_s: float = Field(default=5.0, gt=0)
    #: How often escalations and reminders are checked.
    escalation_tick_s: float = Field(default=10.0, gt=0)
    #: How often rule definitions, the directory and site ownership are reloaded.
    refresh_s: float = Field(default=15.0, gt=0)
    #: Feed batches read per round trip.
    batch_limit: int = Field(default=50, ge=1)
    #: Deliver notifications from this process (the outbox dispatcher).
    dispatch: bool = True
    #: Serve Prometheus metrics on http://<metrics_host>:<metrics_port>/metrics when set
    #: (`courtyard rules`; under `courtyard up` the API's /metrics covers every service).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
