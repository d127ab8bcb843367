"""Loopback PostgreSQL and MQTT servers for `courtyard up` and the tests; they die with us."""

from courtyard.embedded.accounts import (
    ROOT_DATA_DIR,
    SERVICE_ACCOUNT,
    Account,
    EmbeddedError,
    default_data_dir,
    prepare_dir,
    service_account,
)
from courtyard.embedded.child import START_TIMEOUT_S, STOP_TIMEOUT_S
from courtyard.embedded.mosquitto import BrokerBackend, EmbeddedMosquitto
from courtyard.embedded.postgres import PG_SUPERUSER, EmbeddedPostgres, find_postgres_bindir

__all__ = [
    "PG_SUPERUSER",
    "ROOT_DATA_DIR",
    "SERVICE_ACCOUNT",
    "START_TIMEOUT_S",
    "STOP_TIMEOUT_S",
    "Account",
    "BrokerBackend",
    "EmbeddedError",
    "EmbeddedMosquitto",
    "EmbeddedPostgres",
    "default_data_dir",
    "find_postgres_bindir",
    "prepare_dir",
    "service_account",
]
