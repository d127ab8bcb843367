"""Property: whatever JSON shape, size or string arrives, through broker, decoders and writer,
ingest stays alive, the valid messages around it are stored, and the message itself is stored,
ignored as carrying no data, or rejected with a reason: exactly one of the three.

One ingest serves every example (starting one per example would cost seconds each); each
example publishes its hostile message between two valid readings and waits for the second,
which the worker handles after the hostile one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from ingest import metrics
from ingest.decoders.zigbee2mqtt import derived_device_id
from ingest.wire import format_timestamp
from tests.conftest import Z2M_BASES
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher
from tests.support.waiting import wait_for

SITE = "prop-court"
NEIGHBOUR = f"courtyard/v1/{SITE}/neighbour/telemetry"
T0 = datetime.now(UTC) - timedelta(hours=1)

leaves = (
    st.none()
    | st.booleans()
    # orjson writes integers of 64 bits; larger ones come as raw text among the strings below.
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)


def nested(levels: int, inner: str, in_objects: bool) -> str:
    if in_objects:
        return '{"a":' * levels + inner + "}" * levels
    return "[" * levels + inner + "]" * levels


#: JSON text, valid or not: written by hand where orjson would refuse to write it.
fragments = st.one_of(
    json_values.map(lambda v: orjson.dumps(v).decode()),
    st.builds(nested, st.integers(1, 1100), json_values.map(lambda v: orjson.dumps(v).decode()),
              st.booleans()),
    st.integers(0, 300_000).map(lambda n: '"' + "x" * n + '"'),
    st.sampled_from([4095, 4096, 4097]).map(lambda n: '"' + "y" * n + '"'),
    st.integers(0, 9000).map(lambda n: "[" + ",".join(["0"] * n) + "]"),
    st.integers(0, 9000).map(lambda n: "{" + ",".join(f'"k{i}":{i}' for i in range(n)) + "}"),
    st.sampled_from([
        '"\\u0000"', '"a\\u0000b"', '{"\\u0000": 1}', '"\\ud800"', '"\\udc00\\ud800"', "1e400",
        "-1e400", "123456789012345678901234567890", "-0", '"\\n\\t\\u001f"', "NaN", "",
        '{"a": 1', "[1,]", '"' + "\u00e9" * 5000 + '"',
    ]),
)  # fmt: skip

channels = st.sampled_from(["event", "attrs", "telemetry", "readings", "senml", "status", "z2m"])


def hostile_message(n: int, channel: str, fragment: str) -> tuple[str, bytes, str, str]:
    """(topic, payload, site, device) of the hostile message of example `n`."""
    device = f"h{n}"
    native = f"courtyard/v1/{SITE}/{device}/"
    match channel:
        case "event":
            return native + "event", fragment.encode(), SITE, device
        case "attrs":
            text = '{"type": "probe", "attrs": ' + fragment + "}"
            return native + "event", text.encode(), SITE, device
        case "telemetry":
            return native + "telemetry", fragment.encode(), SITE, device
        case "readings":
            text = '{"readings": {"m": ' + fragment + "}}"
            return native + "telemetry", text.encode(), SITE, device
        case "senml":
            text = '[{"n": "m", "v": 1}, {"n": "s", "vs": ' + fragment + "}]"
            return native + "telemetry", text.encode(), SITE, device
        case "status":
            return native + "status", fragment.encode(), SITE, device
        case _:
            name = f"hostile {n}"
            text = '{"temperature": 21.5, "extra": ' + fragment + "}"
            site = Z2M_BASES["zigbee2mqtt"]
            return f"zigbee2mqtt/{name}", text.encode(), site, derived_device_id(name)


def neighbour(i: int) -> bytes:
    return orjson.dumps({"ts": format_timestamp(T0 + timedelta(seconds=i)), "readings": {"n": i}})


def test_any_json_is_stored_ignored_or_rejected_and_never_stops_ingest(
    start_ingest: Callable[..., RunningIngest], publisher: Publisher
) -> None:
    ingest = start_ingest()
    examples = itertools.count()

    @settings(
        max_examples=40,
        deadline=None,
        # A failing example costs a wait for a worker that has stopped: report it unshrunk.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(channel=channels, fragment=fragments)
    @example(channel="attrs", fragment=nested(500, "1", in_objects=True))
    @example(channel="z2m", fragment=nested(300, "1", in_objects=False))
    def through_the_whole_path(channel: str, fragment: str) -> None:
        n = next(examples)
        topic, payload, site, device = hostile_message(n, channel, fragment)
        ignored_before = metrics.IGNORED._value.get()
        publisher.publish(NEIGHBOUR, neighbour(2 * n))
        publisher.publish(topic, payload)
        publisher.publish(NEIGHBOUR, neighbour(2 * n + 1))
        publisher.flush()

        # The worker takes messages in order: the second neighbour stored, the hostile one is done.
        neighbours = "SELECT count(*) FROM readings_named WHERE device = 'neighbour'"
        wait_for(
            lambda: ingest.scalar(neighbours) == 2 * n + 2,
            timeout_s=15,
            what=f"both neighbours of {topic} {payload[:80]!r}",
        )
        assert ingest.service.failed is None
        reasons = [
            str(reason)
            for (reason,) in ingest.query(
                "SELECT reason FROM rejected_messages WHERE topic = %s", (topic,)
            )
        ]
        stored = ingest.scalar(
            "SELECT count(*) FROM devices WHERE site_id = %s AND device_key = %s", (site, device)
        )
        ignored = metrics.IGNORED._value.get() - ignored_before
        outcomes = (len(reasons), stored, ignored)
        assert outcomes in {(1, 0, 0), (0, 1, 0), (0, 0, 1)}, (topic, payload[:80], outcomes)
        assert all(reason.strip() for reason in reasons)
        event(f"{channel}: {['rejected', 'stored', 'ignored'][outcomes.index(1)]}")

    through_the_whole_path()
    run = next(examples)
    assert (
        ingest.scalar("SELECT count(*) FROM readings_named WHERE device = 'neighbour'") == 2 * run
    )
