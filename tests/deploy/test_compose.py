"""docker-compose.yml: valid Compose, secrets only from .env, and wired the way Courtyard runs.

There is no Docker engine on the test machines, so this checks what can be checked without one:
the file against the Compose Specification's JSON schema, after compose's own interpolation, and
what the stack relies on (one image, health checks and start order, ingest workers on one shared
subscription, URLs that match the servers' accounts, settings that Courtyard accepts).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev extra
import pytest
import yaml
from pydantic import BaseModel

from courtyard import cli
from courtyard.settings import ENV_PREFIX, Settings
from device_sims.scenario import shipped
from ingest.settings import IngestSettings
from tests.deploy.deploy_files import (
    COMPOSE_FILE,
    COURTYARD_ENV,
    ENV_EXAMPLE,
    MOSQUITTO_DIR,
    ROOT,
    MissingVariable,
    interpolate,
    make_passwords,
    variables,
)

#: Secrets docker compose must refuse to start without.
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "MQTT_INGEST_PASSWORD")
#: Values standing in for the operator's secrets.
TEST_SECRETS = {
    "POSTGRES_PASSWORD": "pg-0123456789abcdef",
    "MQTT_INGEST_PASSWORD": "ingest-0123456789abcdef",
    "MQTT_DEVICE_SECRET": "devices-0123456789abcdef",
    "MQTT_SIMULATOR_PASSWORD": "sim-0123456789abcdef",
}
COURTYARD_SERVICES = ("migrate", "ingest-1", "ingest-2", "rules", "api", "simulator")
LONG_RUNNING = ("timescaledb", "mosquitto", "ingest-1", "ingest-2", "rules", "api")
#: What issue 6 adds alongside this file: `courtyard rules` and `courtyard api`, and the rules
#: engine's metrics endpoint (like ingest's). Until they exist they cannot be checked against the
#: CLI and Settings; once they do, they are checked like the rest.
PENDING_COMMANDS: set[str] = set()
PENDING_SETTINGS: set[str] = set()

Compose = dict[str, Any]


def _schema() -> dict[str, Any]:
    # The Compose Specification's schema (compose-spec/compose-spec, Apache-2.0), as vendored by
    # check-jsonschema for its `check-compose-spec` hook: a maintained copy on PyPI.
    text = (files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = _schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="module")
def raw() -> Compose:
    document: Compose = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    """The .env an operator makes from .env.example, with real-looking secrets."""
    example = make_passwords().parse_env_file(ENV_EXAMPLE.read_text())
    assert set(TEST_SECRETS) <= set(example), "the example must list every secret"
    return {**example, **TEST_SECRETS}


@pytest.fixture(scope="module")
def compose(raw: Compose, env: dict[str, str]) -> Compose:
    document = interpolate(raw, env)
    assert isinstance(document, dict)
    return document


def _errors(validator: jsonschema.protocols.Validator, document: Compose) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_valid_against_the_compose_specification(
    validator: jsonschema.protocols.Validator, compose: Compose
) -> None:
    assert _errors(validator, compose) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "ingest-1", "depends_on", "migrate", "condition"), "service_finished"),
        (("services", "api", "restart_policy"), "always"),
        (("services", "mosquitto", "healthcheck", "intervall"), "15s"),
    ],
)
def test_the_schema_rejects_a_broken_copy(
    validator: jsonschema.protocols.Validator, compose: Compose, path: tuple[str, ...], value: str
) -> None:
    broken = copy.deepcopy(compose)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert _errors(validator, broken)


@pytest.mark.parametrize("secret", REQUIRED_SECRETS)
def test_refuses_to_start_without_a_secret(raw: Compose, env: dict[str, str], secret: str) -> None:
    for missing in ({k: v for k, v in env.items() if k != secret}, {**env, secret: ""}):
        with pytest.raises(MissingVariable, match=secret):
            interpolate(raw, missing)


def test_every_variable_is_in_the_env_example(raw: Compose) -> None:
    """Each ${VAR} of the compose file is set or documented (as `# VAR=`) in .env.example."""
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    used = set().union(*(variables(value) for _, value in _strings(raw)))
    assert used - documented == set()


def test_env_example_holds_no_secret() -> None:
    example = make_passwords().parse_env_file(ENV_EXAMPLE.read_text())
    for name in TEST_SECRETS:
        assert example[name] in ("", "change-me"), f"{name} in .env.example looks like a secret"


def _strings(node: object, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, str):
        return [(path, node)]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings(v, f"{path}/{k}")]
    if isinstance(node, list):
        return [s for i, v in enumerate(node) for s in _strings(v, f"{path}/{i}")]
    return []


_ONE_VARIABLE = re.compile(r"\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}")


def test_no_password_is_written_in_the_file(raw: Compose) -> None:
    """Passwords in URLs and *PASSWORD/*SECRET variables are all ${...} from .env."""
    for path, value in _strings(raw):
        for password in re.findall(r"://[^:/@\s]+:([^@\s]*)@", value):
            assert _ONE_VARIABLE.fullmatch(password), f"{path}: URL password {password!r}"
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert _ONE_VARIABLE.fullmatch(str(value)), f"{name}: {key}={value!r}"
    settings_file = COURTYARD_ENV.read_text()
    assert not re.search(r"^[^#]*(PASSWORD|SECRET|TOKEN)", settings_file, re.M)
    assert not re.search(r"://[^/\s]*@", settings_file), "credentials in deploy/courtyard.env"


def test_the_same_image_for_every_courtyard_service(compose: Compose) -> None:
    services = compose["services"]
    images = {services[name]["image"] for name in COURTYARD_SERVICES}
    builds = {json.dumps(services[name]["build"], sort_keys=True) for name in COURTYARD_SERVICES}
    assert len(images) == 1 and len(builds) == 1
    assert services["migrate"]["build"]["context"] == "."
    assert (ROOT / services["migrate"]["build"]["dockerfile"]).is_file()
    for name in COURTYARD_SERVICES:
        assert services[name]["env_file"] == ["deploy/courtyard.env"]
        assert services[name]["init"] is True, f"{name}: no init to forward SIGTERM"


@pytest.mark.parametrize("name", COURTYARD_SERVICES)
def test_commands_are_courtyard_commands(compose: Compose, name: str) -> None:
    command = compose["services"][name]["command"]
    parser = cli._parser()
    subcommands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    if command[0] not in subcommands:
        assert command[0] in PENDING_COMMANDS, f"`courtyard {command[0]}` does not exist"
        return
    parser.parse_args(command)  # exits (SystemExit) on an unknown option
    if command[0] == "simulate":
        scenario = command[command.index("--scenario") + 1]
        assert scenario in shipped()


def _container_env(compose: Compose, name: str) -> dict[str, str]:
    """A service's environment as its container sees it: env_file, then `environment`."""
    service = compose["services"][name]
    env: dict[str, str] = {}
    for path in service.get("env_file", []):
        env.update(make_passwords().parse_env_file((ROOT / path).read_text()))
    env.update({k: str(v) for k, v in (service.get("environment") or {}).items()})
    return env


def _is_setting(variable: str) -> bool:
    field, _, sub = variable.removeprefix(ENV_PREFIX).lower().partition("__")
    if field not in Settings.model_fields:
        return False
    if not sub:
        return True
    section = Settings.model_fields[field].annotation
    return (
        isinstance(section, type) and issubclass(section, BaseModel) and sub in section.model_fields
    )


def _settings(compose: Compose, name: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings a service's container builds from its environment."""
    for variable in [v for v in os.environ if v.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(variable)
    for variable, value in _container_env(compose, name).items():
        monkeypatch.setenv(variable, value)
    # Raises ValidationError on a bad value, as the container would at start.
    return Settings(_env_file=None).resolved()  # type: ignore[call-arg]


@pytest.mark.parametrize("name", COURTYARD_SERVICES)
def test_settings_are_known_and_valid(
    compose: Compose, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every COURTYARD_* variable names a real setting, and Courtyard accepts the values."""
    env = _container_env(compose, name)
    for variable in env:
        assert variable.startswith(ENV_PREFIX), f"{name}: {variable} is not a Courtyard setting"
        if not _is_setting(variable):
            assert variable in PENDING_SETTINGS, f"{name}: {variable} is not a setting"
    _settings(compose, name, monkeypatch)


def test_urls_point_at_the_servers_and_their_accounts(
    compose: Compose, env: dict[str, str]
) -> None:
    services = compose["services"]
    db = services["timescaledb"]["environment"]
    mp = make_passwords()
    listener = re.search(r"^listener (\d+)$", (MOSQUITTO_DIR / "mosquitto.conf").read_text(), re.M)
    assert listener is not None
    for name in COURTYARD_SERVICES:
        service_env = _container_env(compose, name)
        if "COURTYARD_DATABASE_URL" in service_env:
            url = urlsplit(service_env["COURTYARD_DATABASE_URL"])
            assert (url.hostname, url.port, url.path) == (
                "timescaledb",
                5432,
                f"/{db['POSTGRES_DB']}",
            )
            assert (url.username, url.password) == (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"])
            assert db["POSTGRES_PASSWORD"] == env["POSTGRES_PASSWORD"]
        if "COURTYARD_MQTT_URL" in service_env:
            url = urlsplit(service_env["COURTYARD_MQTT_URL"])
            assert (url.hostname, url.port) == ("mosquitto", int(listener.group(1)))
            account = {
                mp.INGEST_USER: env["MQTT_INGEST_PASSWORD"],
                mp.SIMULATOR_USER: env["MQTT_SIMULATOR_PASSWORD"],
            }
            assert url.username in account, f"{name}: no broker account {url.username!r}"
            assert url.password == account[url.username]
    # Ingest and the simulator use the broker; the API's /healthz logs in to check it.
    talk_mqtt = {
        n for n in COURTYARD_SERVICES if "COURTYARD_MQTT_URL" in _container_env(compose, n)
    }
    assert talk_mqtt == {"ingest-1", "ingest-2", "api", "simulator"}


def test_ingest_workers_share_one_subscription_with_their_own_sessions(
    compose: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers = [n for n, s in compose["services"].items() if s.get("command") == ["ingest"]]
    assert len(workers) == 2
    settings: list[IngestSettings] = []
    for name in workers:
        settings.append(_settings(compose, name, monkeypatch).ingest)
        monkeypatch.undo()
    assert len({s.client_id for s in settings}) == len(workers), "client ids must differ"
    assert len({s.share_group for s in settings}) == 1 and settings[0].share_group
    # Prometheus (and the health check) reach the metrics from outside the container.
    assert all(s.metrics_port and s.metrics_host == "0.0.0.0" for s in settings)


def _probe_port(healthcheck: dict[str, Any]) -> int:
    url = next(str(part) for part in healthcheck["test"] if str(part).startswith("http://"))
    port = urlsplit(url).port
    assert port is not None
    return port


def test_health_checks_probe_what_each_service_serves(compose: Compose) -> None:
    services = compose["services"]
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL")
    for name in ("ingest-1", "ingest-2"):
        env = _container_env(compose, name)
        assert _probe_port(services[name]["healthcheck"]) == int(
            env["COURTYARD_INGEST__METRICS_PORT"]
        )
    api_env = _container_env(compose, "api")
    assert _probe_port(services["api"]["healthcheck"]) == int(api_env["COURTYARD_HTTP_PORT"])
    assert api_env["COURTYARD_HTTP_HOST"] == "0.0.0.0"
    assert any("/healthz" in str(part) for part in services["api"]["healthcheck"]["test"])
    published = services["api"]["ports"][0]
    assert published.rsplit(":", 1)[1] == api_env["COURTYARD_HTTP_PORT"]
    assert "pg_isready" in services["timescaledb"]["healthcheck"]["test"]
    assert "--host=127.0.0.1" in services["timescaledb"]["healthcheck"]["test"]


def test_start_order(compose: Compose) -> None:
    services = compose["services"]

    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert conditions("migrate") == {"timescaledb": "service_healthy"}
    for name in ("ingest-1", "ingest-2"):
        assert conditions(name) == {
            "migrate": "service_completed_successfully",
            "mosquitto": "service_healthy",
        }
    for name in ("rules", "api"):
        assert conditions(name) == {"migrate": "service_completed_successfully"}
    assert set(conditions("simulator")) == {"mosquitto", "ingest-1", "ingest-2"}


def test_restart_policies(compose: Compose) -> None:
    services = compose["services"]
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
    for name in ("migrate", "simulator"):  # one-shot jobs
        assert services[name]["restart"] == "no", name
    assert services["simulator"]["profiles"] == ["simulator"]
    assert all("profiles" not in services[n] for n in services if n != "simulator")


def test_data_lives_in_named_volumes(compose: Compose) -> None:
    services = compose["services"]
    mounts = {
        name: {v.split(":")[1]: v.split(":")[0] for v in services[name].get("volumes", [])}
        for name in ("timescaledb", "mosquitto")
    }
    assert mounts["timescaledb"]["/var/lib/postgresql/data"] in compose["volumes"]
    assert mounts["mosquitto"]["/mosquitto/data"] in compose["volumes"]


def test_the_broker_runs_the_shipped_config(compose: Compose) -> None:
    mosquitto = compose["services"]["mosquitto"]
    mounts = {target: source for source, target, *_ in (v.split(":") for v in mosquitto["volumes"])}
    assert (ROOT / mounts["/mosquitto/config/mosquitto.conf"]).resolve() == (
        MOSQUITTO_DIR / "mosquitto.conf"
    )
    auth = (ROOT / mounts["/mosquitto/auth"]).resolve()
    assert auth == (MOSQUITTO_DIR / "auth")
    assert auth == make_passwords().DEPLOY / "mosquitto" / "auth", "make-passwords writes elsewhere"
    conf = (MOSQUITTO_DIR / "mosquitto.conf").read_text()
    assert "password_file /mosquitto/auth/passwd" in conf
    assert "acl_file /mosquitto/auth/acl" in conf
    assert all(v.endswith(":ro") for v in mosquitto["volumes"] if "deploy/" in v)


@pytest.mark.parametrize(
    ("service", "pattern"),
    [
        # The TimescaleDB release series the suite is run against (COURTYARD_TEST_DATABASE_URL).
        ("timescaledb", r"timescale/timescaledb:2\.28\.\d+-pg\d+"),
        ("mosquitto", r"eclipse-mosquitto:2\.0\.\d+"),
    ],
)
def test_server_images_are_pinned(compose: Compose, service: str, pattern: str) -> None:
    assert re.fullmatch(pattern, compose["services"][service]["image"])
