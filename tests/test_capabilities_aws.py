"""AWS's capability table, walked row by row.

Every spec field has a row (``missing_rows``/``unknown_rows``); every refused row's ``example`` makes a
minimal staging spec fail validation naming the field; every honoured row's ``Evidence`` is found in
the offline plan of its example stack (with its patch): the resource type, and the input at ``prop``.

What a mock test cannot prove: that AWS does what the input says (that the flow log delivers, that
the canary really bakes, that an alias keeps a bucket's name). The plan shows what mlfabric asks
the provider for; the provider's and the cloud's answers need a real account (README: limits).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlfabric.components.aws.capabilities import CAPABILITIES, WITH_EXISTING_NETWORK
from mlfabric.components.capabilities import Capability, missing_rows, unknown_rows
from mlfabric.components.spec import SpecError, parse_spec
from tests.capability_support import cached_plan, deep_merge, row_id, value_at
from tests.helpers import ROOT, spec_data

REFUSED = [row for row in CAPABILITIES if row.status == "refused"]
HONOURED = [row for row in CAPABILITIES if row.status == "honoured" and row.evidence is not None]
# What a refused row inside a list needs: the list, with one item the refused field is set on.
LIST_PATCHES: dict[str, dict[str, Any]] = {
    "training.gpu_pools[]": {"training": {"gpu_pools": [{"name": "a100", "accelerator": "a100-80gb"}]}},
    "batch.jobs[]": {"registry": {"repositories": ["scorer"], "models": ["fraud-detector"]},
                     "batch": {"jobs": [{"name": "nightly", "model": "fraud-detector", "image": "scorer:1.4.2",
                                         "input_prefix": "scoring/"}]}},
}




def test_the_table_names_every_spec_field_and_no_other() -> None:
    assert missing_rows("aws", CAPABILITIES) == []
    assert unknown_rows("aws", CAPABILITIES) == []


def test_every_refused_row_says_what_to_use_instead_and_has_an_example() -> None:
    for row in REFUSED:
        assert row.example is not None, row_id(row)
        assert len(row.note) > 20, row_id(row)


def test_the_kit_hands_over_this_table() -> None:
    from mlfabric.components.aws.kit import KIT

    assert KIT.capabilities == CAPABILITIES


def _set(data: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    """``data`` with the dotted ``field`` set to ``value`` (on the first item of a ``[]`` list)."""
    node = data
    for prefix, patch in LIST_PATCHES.items():
        if field.startswith(prefix):
            data.update(deep_merge(data, patch))
    *parents, leaf = field.split(".")
    for part in parents:
        node = node[part[:-2]][0] if part.endswith("[]") else node.setdefault(part, {})
    node[leaf] = value
    return data


@pytest.mark.parametrize("row", REFUSED, ids=row_id)
def test_a_refused_field_fails_validation_naming_the_field(row: Capability) -> None:
    data = spec_data("aws", "staging")
    if row.case == WITH_EXISTING_NETWORK:
        _set(data, "network.existing_network_id", "vpc-0123456789abcdef0")
    _set(data, row.field, row.example)
    with pytest.raises(SpecError) as error:
        parse_spec(data)
    lines = [line for line in error.value.problems if line.startswith(f"{row.field.replace('[]', '[0]')}:")]
    assert lines, error.value.problems
    # a field may also break a cross-field rule (a batch job's team must exist): the refusal is one of its lines
    refusal = [line for line in lines if "not supported on aws" in line]
    assert refusal, lines
    assert row.note in refusal[0]


@pytest.mark.parametrize("row", [r for r in REFUSED if r.case == WITH_EXISTING_NETWORK], ids=row_id)
def test_a_field_refused_on_an_existing_network_is_accepted_on_a_new_one(row: Capability) -> None:
    parse_spec(_set(spec_data("aws", "staging"), row.field, row.example))


@pytest.mark.parametrize("row", [r for r in REFUSED if r.case == WITH_EXISTING_NETWORK], ids=row_id)
def test_on_an_existing_network_the_environment_default_is_not_refused(row: Capability) -> None:
    parse_spec(_set(spec_data("aws", "prod"), "network.existing_network_id", "vpc-0123456789abcdef0"))


@pytest.mark.parametrize("row", HONOURED, ids=row_id)
def test_an_honoured_field_shows_in_the_plan_of_its_example_stack(row: Capability) -> None:
    evidence = row.evidence
    assert evidence is not None
    plan = cached_plan(evidence.stack, json.dumps(dict(evidence.patch), sort_keys=True))
    found = [r for r in plan.resources if r.type == evidence.type_token or r.type.startswith(evidence.type_token)]
    assert found, f"{row_id(row)}: no {evidence.type_token} in the plan of {evidence.stack}"
    if evidence.prop is None:
        return
    values = []
    for record in found:
        try:
            values.append(value_at(record.inputs, evidence.prop))
        except KeyError:
            continue
    assert values, f"{row_id(row)}: no {evidence.type_token} has an input at {evidence.prop}"
    if evidence.equals is not None:
        assert evidence.equals in values, f"{row_id(row)}: {evidence.prop} is {values}, not {evidence.equals!r}"


def test_example_stacks_are_the_stack_files() -> None:
    stacks = {row.evidence.stack for row in HONOURED if row.evidence is not None}
    assert all((Path(ROOT) / "stacks" / f"Pulumi.{s}.yaml").is_file() for s in stacks)
