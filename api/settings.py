"""ApiSettings: the HTTP API's section of the settings (COURTYARD_API__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator

from store.alerts.destinations import DestinationPolicy


class ApiSettings(BaseModel):
    #: The broker /healthz checks with an MQTT CONNECT. Filled from COURTYARD_MQTT_URL (or the
    #: embedded broker's URL) like the ingest section's; empty: the broker is not checked.
    mqtt_url: str = ""
    #: Dashboard session cookie: Secure (sent over HTTPS only; browsers treat http://localhost
    #: as secure too). Turn off only behind a TLS-terminating proxy that speaks plain HTTP to
    #: a browser, which should not exist.
    cookie_secure: bool = True
    #: A dashboard session ends after this long without a request, and at the latest after
    #: session_max_age_s.
    session_idle_s: float = Field(default=8 * 3600, gt=0)
    session_max_age_s: float = Field(default=7 * 24 * 3600, gt=0)
    #: An authenticated bearer token is trusted this long without a lookup: a changed site or
    #: household takes effect within this time. Revoking a token or deactivating a user clears
    #: every API process's cache at once (NOTIFY); this bounds the delay should that be missed.
    #: 0: every request.
    auth_cache_s: float = Field(default=5.0, ge=0, le=10)
    #: Site overviews and chart aggregates are answered from a cache this long (per caller
    #: scope and parameters): a busy dashboard costs one query per interval. 0: never cached.
    read_cache_s: float = Field(default=2.0, ge=0)
    #: `courtyard tokens create` issues tokens valid this long unless told otherwise.
    token_default_days: int = Field(default=90, ge=1, le=730)
    #: Processes `courtyard api` serves with, sharing one listening socket: one process runs
    #: Python on one core, so a machine with more cores (and the database beside it) answers
    #: more requests with more. Each has its own pools (below), caches and alert listener.
    #: `courtyard up` always serves from its own single process.
    workers: int = Field(default=1, ge=1, le=64)
    #: Connections the API holds for queries, and for alert actions (which run on threads), in
    #: each worker.
    pool_min_size: int = Field(default=2, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    action_pool_max_size: int = Field(default=4, ge=1)
    #: An SSE subscriber that falls this many alert changes behind is disconnected; it
    #: reconnects with Last-Event-ID and catches up from the database.
    stream_queue_size: int = Field(default=1000, ge=1)
    #: Comment lines sent on an idle SSE stream so proxies keep it open.
    stream_ping_s: float = Field(default=15.0, gt=0)
    #: An open SSE stream re-checks its caller's token or session this often, before every
    #: delivery, and at once when a token is revoked, a session ends or a user is deactivated;
    #: it closes when access has ended or narrowed (the client reconnects with what it has now).
    stream_recheck_s: float = Field(default=5.0, gt=0, le=60)
    #: Timeout of each /healthz check.
    health_timeout_s: float = Field(default=3.0, gt=0)
    #: Hosts and CIDR ranges that people's webhook and Apprise URLs may point to although not
    #: public (api.channel_destinations). Filled from COURTYARD_NOTIFY__ALLOWED_DESTINATIONS.
    notify_allowed_destinations: str = ""
    #: Login throttling, on the dashboard's form and POST /api/v1/session alike (see
    #: api/auth/login_throttle.py). A lockout starts after this many failed logins in a row for one
    #: account, or from one client address (more: an office or a NAT shares one).
    login_account_lockout_after: int = Field(default=5, ge=1)
    login_client_lockout_after: int = Field(default=30, ge=1)
    #: The first lockout; every further failure doubles it, up to login_lockout_max_s. A
    #: lockout refuses the right password too (429 with Retry-After).
    login_lockout_s: float = Field(default=30.0, gt=0)
    login_lockout_max_s: float = Field(default=900.0, gt=0)
    #: An account or address without a login attempt for this long starts again from zero.
    login_forget_s: float = Field(default=3600.0, gt=0)
    #: Password hashes checked at once in each worker (argon2: ~50 ms of CPU and 64 MiB each);
    #: a login that finds none free within login_hash_wait_s is answered 503 with Retry-After.
    login_max_concurrent_hashes: int = Field(default=4, ge=1)
    login_hash_wait_s: float = Field(default=1.0, gt=0)

    @field_validator("notify_allowed_destinations")
    @classmethod
    def _destinations(cls, value: str) -> str:
        DestinationPolicy.parse(value)  # fails fast, naming the entry
        return value

    @model_validator(mode="after")
    def _lockouts_fit(self) -> ApiSettings:
        if self.login_lockout_max_s < self.login_lockout_s:
            raise ValueError("api.login_lockout_max_s must not be below login_lockout_s")
        if self.login_forget_s <= self.login_lockout_max_s:
            raise ValueError(
                "api.login_forget_s must be longer than login_lockout_max_s: otherwise a"
                " locked-out account's count is forgotten while the lockout runs"
            )
        return self
