"""IngestSettings refuses what ingest cannot subscribe to or store as configured."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingest.settings import IngestSettings


@pytest.mark.parametrize("base", ["zigbee2mqtt", "z2m/block-3", "courtyard/v2", "courtyardx"])
def test_zigbee2mqtt_bases_beside_the_native_root_are_accepted(base: str) -> None:
    assert IngestSettings(zigbee2mqtt_bases={base: "court"}).zigbee2mqtt_bases == {base: "court"}


@pytest.mark.parametrize(
    ("base", "site", "error"),
    [
        # Its messages would be read as native ones, or delivered twice.
        ("courtyard/v1/z2m", "court", "overlaps courtyard/v1/"),
        ("courtyard/v1", "court", "overlaps courtyard/v1/"),
        ("courtyard", "court", "overlaps courtyard/v1/"),
        ("z2m/#", "court", "a wildcard"),
        ("z2m/+/x", "court", "a wildcard"),
        ("z2m//x", "court", "an empty level"),
        ("$SYS", "court", "a leading $"),
        ("z2m", "..", "site '..' of base 'z2m'"),
        ("z2m", "a court", "site 'a court' of base 'z2m'"),
    ],
)
def test_zigbee2mqtt_bases_that_cannot_work_are_refused(base: str, site: str, error: str) -> None:
    with pytest.raises(ValidationError, match=error.replace("$", r"\$")):
        IngestSettings(zigbee2mqtt_bases={base: site})


def test_series_per_device_are_capped_by_default() -> None:
    assert IngestSettings().max_series_per_device == 500
    with pytest.raises(ValidationError, match="max_series_per_device"):
        IngestSettings(max_series_per_device=0)
