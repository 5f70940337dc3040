"""GCP's capability table, walked: every refused row is refused by validation naming its field, and
every honoured row's evidence is in the plan of the example stack it names.

What a mock test cannot prove: that GCP really behaves as the honoured rows say (that Cloud NAT is
zone-redundant, that GKE spreads nodes over node_locations, that Cloud Run logs carry no bodies); it
proves that the program declares what the row names, and that the spec refuses what the row refuses.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest

from mlfabric import stackfile
from mlfabric.components.capabilities import Capability, missing_rows, unknown_rows
from mlfabric.components.gcp.capabilities import CAPABILITIES
from mlfabric.components.gcp.kit import KIT
from mlfabric.components.spec import SPEC_CONFIG_KEY, SpecError, parse_spec, spec_notes
from mlfabric.plan import Plan, plan_spec
from tests.helpers import ROOT, spec_data

REFUSED = [row for row in CAPABILITIES if row.status == "refused"]
HONOURED = [row for row in CAPABILITIES if row.status == "honoured" and row.evidence is not None]


def _id(row: Capability) -> str:
    return f"{row.field}[{row.case}]" if row.case else row.field


def test_the_table_names_every_spec_field_and_no_other() -> None:
    assert missing_rows("gcp", CAPABILITIES) == []
    assert unknown_rows("gcp", CAPABILITIES) == []
    assert KIT.capabilities == CAPABILITIES


def test_refused_rows_say_what_to_use_instead_and_give_an_example() -> None:
    for row in REFUSED:
        assert row.example is not None, row.field
        assert any(word in row.note for word in ("use", "set", "omit", "drop", "leave", "declare", "see")), row


# --- refused rows -----------------------------------------------------------------------------------

def _base(environment: str) -> dict[str, Any]:
    """A valid GCP spec with one of everything a refused row may need."""
    return spec_data(
        "gcp", environment,
        registry={"repositories": ["detector"], "models": ["detector"]},
        serving={"endpoints": [{"name": "detector", "model": "detector", "image": "detector:0.3.0",
                                "accelerator": "l4", "traffic": {"strategy": "all-at-once"},
                                "data_capture_percent": 0}]},
    )


def _set(data: dict[str, Any], field: str, value: Any) -> None:
    """Set a dotted ``[]`` path (the first item of each list) in spec data, creating what is missing."""
    node: Any = data
    parts = field.split(".")
    for part in parts[:-1]:
        key = part.removesuffix("[]")
        node = node.setdefault(key, [{}] if part.endswith("[]") else {})
        if part.endswith("[]"):
            node = node[0]
    node[parts[-1]] = value


def _refusing_spec(row: Capability, environment: str) -> dict[str, Any]:
    data = _base(environment)
    if row.case == "with existing_network_id":
        data["network"] = {"existing_network_id": "shared-vpc", "private_endpoints": False}
    if row.field.endswith((".challenger.percent", ".shadow.percent", ".challenger.image", ".shadow.image")):
        # a variant needs an image and a percent; the row is about one of them
        variant = row.field.rsplit(".", 1)[0]
        _set(data, variant + ".image", "detector:0.4.0")
        _set(data, variant + ".percent", 10)
    if row.field.startswith("training.shared_fs."):
        _set(data, "training.shared_fs.capacity_gib", 2560)  # a shared file system needs a size
    if row.field.startswith("batch.jobs[]."):
        # a job needs its required fields (and a team needs a cluster); the row is about one of them
        data["batch"] = {"jobs": [{"name": "nightly", "model": "detector", "image": "detector:0.3.0",
                                   "input_prefix": "scoring/"}]}
        if row.field.endswith(".team"):
            data["training"] = {"gpu_pools": [{"name": "l4", "accelerator": "l4", "max_nodes": 2}]}
            data["teams"] = [{"name": "vision"}]
    if row.field.startswith("serving.endpoints[].monitoring.drift."):
        _set(data, "serving.endpoints[].monitoring.drift.baseline_prefix", "baselines/detector/")
    _set(data, row.field, row.example)
    return data


def _concrete(field: str) -> str:
    return field.replace("[]", "[0]")


@pytest.mark.parametrize("row", REFUSED, ids=_id)
def test_a_refused_field_fails_validation_in_staging_naming_the_field(row: Capability) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(_refusing_spec(row, "staging"))
    expected = f"{_concrete(row.field)}: not supported on gcp: {row.note}"
    assert any(line.startswith(expected) for line in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("row", [r for r in REFUSED if r.protective], ids=_id)
def test_a_protective_refusal_is_only_a_warning_in_dev(row: Capability) -> None:
    spec = parse_spec(_refusing_spec(row, "dev"))
    notes = spec_notes(spec)
    assert any(n.startswith(f"{_concrete(row.field)}: not supported on gcp") and "warning: dev only" in n
               for n in notes), notes


def test_validate_reports_every_cloud_run_refusal_at_once() -> None:
    data = _base("staging")
    endpoint = data["serving"]["endpoints"][0]
    endpoint.update(accelerator="t4", data_capture_percent=20,
                    traffic={"strategy": "canary", "shadow": {"image": "detector:0.4.0", "percent": 5},
                             "challenger": {"image": "detector:0.5.0", "percent": 10}})
    data["monitoring"] = {"log_retention_days": 3653}
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    fields = {line.split(":", 1)[0] for line in caught.value.problems}
    assert {
        "serving.endpoints[0].accelerator",
        "serving.endpoints[0].data_capture_percent",
        "serving.endpoints[0].traffic.strategy",
        "serving.endpoints[0].traffic.shadow.image",
        "serving.endpoints[0].traffic.shadow.percent",
        "serving.endpoints[0].traffic.challenger.image",
        "serving.endpoints[0].traffic.challenger.percent",
        "monitoring.log_retention_days",
    } <= fields, caught.value.problems


def test_the_cloud_run_refusal_suggests_only_what_the_spec_can_express() -> None:
    (row,) = [r for r in REFUSED if r.field == "serving.endpoints[].accelerator"]
    assert "GPU pools" not in row.note and "accelerator: l4" in row.note


def test_defaults_on_an_existing_network_are_accepted() -> None:
    """nat_gateways and private_endpoints have environment defaults: only what the spec asks is refused."""
    spec = parse_spec(spec_data("gcp", "prod", network={"existing_network_id": "shared-vpc",
                                                          "private_endpoints": False}))
    assert spec.network.nat_gateways == "per-zone"


# --- honoured rows -----------------------------------------------------------------------------------

def _stack_spec(stack: str) -> dict[str, Any]:
    data = stackfile.read_yaml_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    spec: dict[str, Any] = data["config"][SPEC_CONFIG_KEY]
    return spec


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``patch`` deep-merged into ``base``: mappings merge, anything else replaces, None removes."""
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@cache
def _plan(stack: str, patch: str) -> Plan:
    return plan_spec(_merge(_stack_spec(stack), json.loads(patch)), stack=stack)


_MISSING = object()


def _at(inputs: Any, prop: str) -> Any:
    node = inputs
    for part in prop.split("."):
        key, _, index = part.partition("[")
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
        if index:
            position = int(index.rstrip("]"))
            if not isinstance(node, list) or len(node) <= position:
                return _MISSING
            node = node[position]
    return node


@pytest.mark.parametrize("row", HONOURED, ids=_id)
def test_an_honoured_field_is_in_the_plan_of_its_evidence_stack(row: Capability) -> None:
    evidence = row.evidence
    assert evidence is not None
    plan = _plan(evidence.stack, json.dumps(dict(evidence.patch), sort_keys=True))
    found = [r for r in plan.resources if r.type == evidence.type_token or r.type.startswith(evidence.type_token)]
    assert found, f"{row.field}: no {evidence.type_token} in {evidence.stack}"
    if evidence.prop is None:
        return
    values = [_at(r.inputs, evidence.prop) for r in found]
    if evidence.equals is None:
        assert any(v is not _MISSING and v is not None for v in values), (row.field, values)
    else:
        assert evidence.equals in values, (row.field, evidence.prop, values)
