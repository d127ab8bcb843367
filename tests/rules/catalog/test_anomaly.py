from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from rules.catalog.anomaly import AnomalyParams, AnomalyRule, AnomalyState, Bucket, learn
from rules.rule import RuleState
from tests.rules.catalog.views import at, series, trace

FLAT = AnomalyParams("current_a", k=6, clear_k=3, buckets="none", warmup_samples=20)


def noisy(n: int, start: float = 0, seed: int = 1) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return [(start + 60 * i, 2.0 + float(rng.normal(0, 0.05))) for i in range(n)]


def run(params: AnomalyParams, *batches: list[tuple[float, float]]) -> list[tuple[str, float]]:
    rule = AnomalyRule("odd-current", params)
    state: RuleState[AnomalyState] = RuleState()
    out = []
    for samples in batches:
        signals, state = rule.evaluate(series(params.metric, samples), state, at(1e7))
        out += trace(signals)
    return out


def test_quiet_series_never_fires() -> None:
    assert run(FLAT, noisy(500)) == []


def test_no_firing_during_warm_up() -> None:
    wild = [(60.0 * i, 100.0 * (i % 2)) for i in range(19)]
    assert run(FLAT, wild) == []


@pytest.mark.parametrize(
    ("spike", "want"),
    [
        pytest.param(2.1, [], id="within the noise"),
        pytest.param(5.0, [("firing", 60 * 100), ("clear", 60 * 101)], id="a spike"),
        pytest.param(math.nan, [], id="NaN is a gap"),
    ],
)
def test_spike(spike: float, want: list[tuple[str, float]]) -> None:
    samples = noisy(200)
    samples[100] = (samples[100][0], spike)
    assert run(FLAT, samples) == want


def test_hold_rejects_a_single_spike_but_not_a_lasting_one() -> None:
    held = AnomalyParams("current_a", buckets="none", warmup_samples=20, hold_s=120)
    one = noisy(200)
    one[100] = (one[100][0], 5.0)
    assert run(held, one) == []
    lasting = noisy(200)
    lasting[100:104] = [(t, 5.0) for t, _ in lasting[100:104]]
    assert run(held, lasting) == [("firing", 60 * 102), ("clear", 60 * 104)]


def test_baseline_carries_across_batches_and_json() -> None:
    rule = AnomalyRule("odd-current", FLAT)
    _, state = rule.evaluate(series("current_a", noisy(100)), RuleState(), at(0))
    state = rule.load_state(orjson.loads(orjson.dumps(state.to_json())))
    (s,), _ = rule.evaluate(series("current_a", [(60 * 100, 9.0)]), state, at(0))
    assert s.value == 9.0 and s.summary.startswith("current_a on dev1 is unusual: 9.0 where 2.")


def test_out_of_order_equals_in_order() -> None:
    samples = noisy(200)
    samples[150] = (samples[150][0], 6.0)
    assert (
        run(FLAT, list(reversed(samples)))
        == run(FLAT, samples)
        == [
            ("firing", 9000),
            ("clear", 9060),
        ]
    )


def test_hour_of_day_buckets_learn_separately() -> None:
    # six readings an hour at 02:00 and 14:00 local time (Shanghai): 1.0 at night, 10.0 by day
    params = AnomalyParams("p", timezone="Asia/Shanghai", warmup_samples=30)
    day, utc_offset = 86400.0, -8 * 3600.0
    rng = np.random.default_rng(3)
    samples = [
        (d * day + h * 3600 + j * 600 + utc_offset, v + float(rng.normal(0, 0.1)))
        for d in range(20)
        for h, v in ((2, 1.0), (14, 10.0))
        for j in range(6)
    ]
    assert run(params, samples) == []
    # 10.0 is normal at 14:00, not at 02:00
    night = 20 * day + 2 * 3600 + utc_offset
    assert run(params, [*samples, (night, 10.0)]) == [("firing", night)]


def test_a_lasting_shift_is_absorbed() -> None:
    samples = noisy(100) + [(60.0 * i, 3.0) for i in range(100, 2000)]
    assert [s for s, _ in run(FLAT, samples)] == ["firing", "clear"]


def test_learn_warms_up_with_exact_statistics() -> None:
    bucket = Bucket()
    for x in [1.0, 2.0, 3.0, 4.0, 100.0]:
        bucket, z = learn(bucket, x, AnomalyParams("m", warmup_samples=5))
        assert z is None
    assert (bucket.median, bucket.mad) == (3.0, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k": 3, "clear_k": 4}, "clear_k"),
        ({"timezone": "Nowhere/Town"}, "timezone"),
        ({"warmup_samples": 2}, "warmup_samples"),
        ({"rate": 1.0}, "rate"),
        ({"buckets": "weekday"}, "buckets"),
    ],
)
def test_invalid(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        AnomalyParams("m", **kwargs)  # type: ignore[arg-type]
