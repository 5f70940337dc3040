"""The AKS version calendar (components/azure/kubernetes_versions.json) and what the spec does with it.

What a test cannot prove: that AKS still offers a version in a given region on a given day (AKS
rolls versions out and back region by region); the calendar is the vendor's published plan, checked
on its as_of date.
"""

from __future__ import annotations

import datetime
import json

import pytest

from mlfabric.components.azure.kit import CALENDAR_PATH, KIT, aks_calendar
from mlfabric.components.kubernetes.versions import pinned_today, today
from mlfabric.components.spec import SpecError, parse_spec, spec_notes
from tests.helpers import spec_data

AS_OF = datetime.date(2026, 12, 1)


def training(version: str | None = None) -> dict[str, object]:
    return spec_data("azure", "dev", training={"cluster": {"kubernetes_version": version} if version else {}})


def test_the_kit_hands_over_the_aks_calendar() -> None:
    assert KIT.kubernetes_calendar is aks_calendar
    calendar = aks_calendar()
    assert calendar.service == "AKS" and calendar.as_of == AS_OF
    assert calendar.source.startswith("https://learn.microsoft.com/azure/aks/supported-kubernetes-versions")


def test_every_row_has_a_source_and_dates_in_order() -> None:
    for row in aks_calendar().releases:
        assert row.source.startswith("https://learn.microsoft.com/"), row.minor
        assert row.released < row.end_of_standard < (row.end_of_extended or datetime.date.max), row.minor


def test_the_calendar_lists_every_version_in_support_and_the_most_recently_ended() -> None:
    calendar = aks_calendar()
    assert calendar.supported(AS_OF) == ["1.32", "1.33", "1.34", "1.35", "1.36", "1.37"]
    ended = [r.minor for r in calendar.releases if calendar.phase(r.minor, AS_OF) == "ended"]
    assert ended == ["1.31"]


def test_the_default_is_in_standard_support_on_the_as_of_date() -> None:
    calendar = aks_calendar()
    assert calendar.phase(calendar.default, calendar.as_of) == "standard"
    assert json.loads(CALENDAR_PATH.read_text())["default"] == calendar.default


def test_an_omitted_version_takes_the_pinned_default() -> None:
    spec = parse_spec(training())
    assert spec.training is not None and spec.training.cluster.version == aks_calendar().default


@pytest.mark.parametrize(("version", "why"), [
    ("1.99", "AKS does not offer this version (supported on 2026-12-01: 1.32 to 1.37; got '1.99')"),
    ("1.31", "AKS support ended on 2026-11-30 (supported on 2026-12-01: 1.32 to 1.37; got '1.31')"),
])
def test_an_unknown_or_ended_version_is_refused_with_the_supported_range(version: str, why: str) -> None:
    with pinned_today(AS_OF), pytest.raises(SpecError) as error:
        parse_spec(training(version))
    assert error.value.problems == [f"training.cluster.kubernetes_version: {why}"]


def test_a_version_in_long_term_support_is_allowed_with_a_note() -> None:
    with pinned_today(AS_OF):
        spec = parse_spec(training("1.33"))
        notes = spec_notes(spec)
    assert notes == ["training.cluster.kubernetes_version: AKS 1.33 is in extended support until 2027-07-31, billed "
                     f"at the extended-support rate of $0.60/h; upgrade to {aks_calendar().default} (standard support)"]


def test_a_version_in_standard_support_has_no_note() -> None:
    with pinned_today(AS_OF):
        assert spec_notes(parse_spec(training("1.36"))) == []


def test_the_calendar_is_less_than_six_months_old() -> None:
    age = today() - aks_calendar().as_of
    assert age <= datetime.timedelta(days=183), (
        f"components/azure/kubernetes_versions.json is {age.days} days old: check it against "
        "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions and update as_of")
