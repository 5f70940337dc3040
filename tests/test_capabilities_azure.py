"""Azure's capability table, walked row by row.

Every spec field has a row (``missing_rows``/``unknown_rows``); every refused row's ``example`` makes a
minimal staging spec fail validation naming the field (and only warns in dev where the row is
protective); every honoured row's ``Evidence`` is found in the offline plan of its example stack (with
its patch): the resource type, and the input at ``prop``.

What a mock test cannot prove: that Azure does what the input says (that Network Watcher writes the
flow log, that the rollout script really bakes and rolls back, that an alias keeps a container). The
plan shows what mlfabric asks the provider for; the provider's and the cloud's answers need a real
subscription (README: limits).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlfabric.components.azure.capabilities import CAPABILITIES, STANDARD_REGISTRY
from mlfabric.components.capabilities import Capability, missing_rows, unknown_rows
from mlfabric.components.spec import SpecError, parse_spec, spec_notes
from tests.capability_support import cached_plan, deep_merge, row_id, value_at
from tests.helpers import ROOT, spec_data

REFUSED = [row for row in CAPABILITIES if row.status == "refused"]
HONOURED = [row for row in CAPABILITIES if row.status == "honoured" and row.evidence is not None]
# What a refused row's case needs besides the field (a minimal staging spec is the starting point).
CASE_PATCHES: dict[str, dict[str, Any]] = {STANDARD_REGISTRY: {"network": {"private_endpoints": False}}}
# What a refused row needs besides itself, by the section it is in.
SECTION_PATCHES: dict[str, dict[str, Any]] = {
    "training.shared_fs.": {"training": {"shared_fs": {"capacity_gib": 4096}}},
    # a job's team must be a declared team (which needs the training cluster)
    "batch.jobs[].team": {"training": {}, "teams": [{"name": "asr"}]},
}
# What a refused row inside a list needs: the list, with one item the refused field is set on.
LIST_PATCHES: dict[str, dict[str, Any]] = {
    "training.gpu_pools[]": {"training": {"gpu_pools": [{"name": "a100", "accelerator": "a100-80gb"}]}},
    "batch.jobs[]": {"registry": {"models": ["speech-recognizer"], "repositories": ["scorer"]}, "batch": {"jobs": [
        {"name": "nightly", "model": "speech-recognizer", "image": "scorer:1.0.0", "input_prefix": "incoming/"}]}},
}






def _set(data: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    """``data`` with the dotted ``field`` set to ``value`` (on the first item of a ``[]`` list)."""
    node = data
    *parents, leaf = field.split(".")
    for part in parents:
        node = node[part[:-2]][0] if part.endswith("[]") else node.setdefault(part, {})
    node[leaf] = value
    return data


def _refusal_base(row: Capability, environment: str) -> dict[str, Any]:
    data = deep_merge(spec_data("azure", environment), CASE_PATCHES.get(row.case, {}))
    for prefix, patch in {**LIST_PATCHES, **SECTION_PATCHES}.items():
        if row.field.startswith(prefix):
            data = deep_merge(data, patch)
    return data


def test_the_table_names_every_spec_field_and_no_other() -> None:
    assert missing_rows("azure", CAPABILITIES) == []
    assert unknown_rows("azure", CAPABILITIES) == []


def test_every_refused_row_says_what_to_use_instead_and_has_an_example() -> None:
    for row in REFUSED:
        assert row.example is not None, row_id(row)
        assert len(row.note) > 20, row_id(row)
        lists = [prefix for prefix in LIST_PATCHES if row.field.startswith(prefix)]
        assert "[]" not in row.field or lists, f"{row_id(row)}: LIST_PATCHES has no item for it"


def test_the_kit_hands_over_this_table() -> None:
    from mlfabric.components.azure.kit import KIT

    assert KIT.capabilities == CAPABILITIES


@pytest.mark.parametrize("row", REFUSED, ids=row_id)
def test_a_refused_field_fails_validation_naming_the_field(row: Capability) -> None:
    data = _refusal_base(row, "staging")
    _set(data, row.field, row.example)
    with pytest.raises(SpecError) as error:
        parse_spec(data)
    shown = row.field.replace("[]", "[0]")
    lines = [line for line in error.value.problems if line.startswith(f"{shown}:")]
    assert lines, error.value.problems
    assert "not supported on azure" in lines[0]
    assert row.note in lines[0]


@pytest.mark.parametrize("row", [r for r in REFUSED if r.protective], ids=row_id)
def test_a_protective_refused_field_only_warns_in_dev(row: Capability) -> None:
    spec = parse_spec(_set(_refusal_base(row, "dev"), row.field, row.example))
    assert any(note.startswith(f"{row.field.replace('[]', '[0]')}: not supported on azure") and "[warning: dev only" in note
               for note in spec_notes(spec)), spec_notes(spec)


def test_untagged_image_retention_is_accepted_on_a_premium_registry() -> None:
    # staging has private endpoints by default, so its registry is Premium
    parse_spec(spec_data("azure", "staging", registry={"untagged_image_retention_days": 30, "immutable_tags": False,
                                                       "scan_on_push": False}))


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
