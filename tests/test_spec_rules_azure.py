"""What Azure would refuse, refused by the spec first (components/azure/spec_rules.py): VM sizes,
existing VNet ids, tag limits, overlay ranges, the system pool's name, shadow and rollout limits.
Every case is a spec error naming the field (validate == plan: the program never raises for them).

What a test cannot prove: that a size listed in vm_sizes.json is offered in the stack's region and
subscription (quota, regional availability): only a real deployment does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlfabric import stackfile
from mlfabric.components import catalog
from mlfabric.components.azure import spec_rules
from mlfabric.components.spec import SpecError, parse_spec
from mlfabric.testing import plan_spec
from tests.helpers import ROOT, spec_data

SERVED = {"registry": {"repositories": ["scorer"], "models": ["fraud"]}}


def problems(**sections: Any) -> list[str]:
    try:
        parse_spec(spec_data("azure", "dev", **sections))
    except SpecError as error:
        return error.problems
    return []


def serving(**endpoint: Any) -> dict[str, Any]:
    return {**SERVED, "serving": {"endpoints": [{"name": "scorer", "model": "fraud", "image": "scorer:1.0", **endpoint}]}}


def system_machine(machine: str) -> list[str]:
    return problems(training={"cluster": {"system_pool": {"machine": machine}}})


# --- VM sizes --------------------------------------------------------------------------------------------


def test_the_vm_size_list_has_a_source_and_a_date_and_every_catalogue_size() -> None:
    data = json.loads(spec_rules.VM_SIZES_PATH.read_text())
    assert data["source"].startswith("https://learn.microsoft.com/") and data["as_of"]
    assert all(f["source"].startswith("https://") for f in data["families"])
    sizes = set(spec_rules.vm_sizes())
    catalogue = {s.machine for s in catalog.GPU_SHAPES if s.cloud == "azure"}
    catalogue |= {m.name for m in catalog.MACHINES if m.cloud == "azure"} if hasattr(catalog, "MACHINES") else set()
    assert catalogue <= sizes, catalogue - sizes
    assert {"Standard_DS3_v2", "Standard_D4s_v5", catalog.DEFAULT_SYSTEM_MACHINE["azure"]} <= sizes


@pytest.mark.parametrize("size", ["Standard_D4s_v5", "Standard_NC24ads_A100_v4", "Standard_E16ds_v5"])
def test_a_known_vm_size_passes(size: str) -> None:
    assert system_machine(size) == []


def test_an_unknown_vm_size_is_refused_with_the_nearest_known_names() -> None:
    [line] = system_machine("Standard_D4s_v9")
    assert line.startswith("training.cluster.system_pool.machine: not an Azure VM size; nearest: ")
    assert "Standard_D4s_v5" in line and "(got 'Standard_D4s_v9')" in line


def test_a_vm_size_in_the_wrong_case_is_refused_with_the_right_spelling() -> None:
    [line] = system_machine("standard_d4s_v5")
    assert "case-sensitive: use Standard_D4s_v5" in line


@pytest.mark.parametrize(("name", "hint"), [("m6i.large", "AWS instance type"), ("ml.g5.xlarge", "AWS instance type"),
                                            ("e2-standard-4", "GCP machine type"), ("n1-highmem-8", "GCP machine type")])
def test_another_clouds_name_is_refused_saying_whose_it_is(name: str, hint: str) -> None:
    [line] = system_machine(name)
    assert hint in line


def test_nonsense_a_nul_byte_and_100k_characters_are_refused_in_one_line() -> None:
    assert "not an Azure VM size" in system_machine("Standard_Nonsense_v9")[0]
    [nul] = system_machine("Standard_D4s\x00_v5")
    assert "not an Azure VM size" in nul
    [huge] = system_machine("x" * 100_000)
    assert "not an Azure VM size" in huge and "(100000 characters)" in huge and len(huge) < 300


def test_an_endpoint_instance_is_checked_too() -> None:
    [line] = problems(**serving(instance="Standard_DS3_v9"))
    assert line.startswith("serving.endpoints[0].instance: not an Azure VM size; nearest: Standard_DS3_v2")


# --- the existing network id ------------------------------------------------------------------------------

VNET = "/subscriptions/0f3c6a2e-7b19-4d55-9c1e-2a8b4d6f0e37/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub"


@pytest.mark.parametrize("network_id", [VNET, VNET.replace("Microsoft.Network/virtualNetworks", "microsoft.network/virtualnetworks"),
                                        VNET.replace("rg-hub", "rg.hub(1)")])
def test_a_vnet_resource_id_passes(network_id: str) -> None:
    assert problems(network={"existing_network_id": network_id}) == []


@pytest.mark.parametrize("network_id", ["my-vnet", "vpc-0123456789abcdef0", "projects/p/global/networks/n",
                                        VNET.replace("virtualNetworks", "networkSecurityGroups"),
                                        VNET.replace("0f3c6a2e-7b19-4d55-9c1e-2a8b4d6f0e37", "sub"),
                                        VNET + "/subnets/snet-aks", VNET + "\x00"])
def test_anything_but_a_vnet_resource_id_is_refused_with_the_expected_shape(network_id: str) -> None:
    [line] = problems(network={"existing_network_id": network_id})
    assert line.startswith("network.existing_network_id: on Azure give the VNet's resource id, /subscriptions/")


# --- tags -----------------------------------------------------------------------------------------------


def tags(count: int) -> dict[str, str]:
    return {f"tag{i}": "x" for i in range(count)}


def test_tags_are_refused_beyond_what_azure_holds_with_mlfabrics_own() -> None:
    allowed = spec_rules.MAX_TAGS - spec_rules.ADDED_TAGS_PER_RESOURCE
    assert problems(tags=tags(allowed)) == []
    [line] = problems(tags=tags(allowed + 1))
    assert line == (f"tags: Azure allows 50 tags per resource and mlfabric adds up to {spec_rules.ADDED_TAGS_PER_RESOURCE} "
                    f"of its own: give at most {allowed} (got {allowed + 1})")
    assert any(line.startswith("tags:") for line in problems(tags=tags(60)))


def test_mlfabric_adds_no_more_tags_to_a_resource_than_the_rule_counts() -> None:
    spec = stackfile.load(ROOT / "stacks" / "Pulumi.azure-prod.yaml").spec_data
    plan = plan_spec(spec, stack="azure-prod")
    own = set(spec["tags"])
    most = 0
    for record in plan.resources:
        for tag_map in (record.inputs.get("tags"), (record.inputs.get("properties") or {}).get("tags")):
            if isinstance(tag_map, dict):
                most = max(most, len(set(tag_map) - own))
    assert 0 < most <= spec_rules.ADDED_TAGS_PER_RESOURCE


# --- what the components used to refuse while the program ran ------------------------------------------


def test_a_network_overlapping_every_overlay_range_is_refused() -> None:
    [line] = problems(network={"cidr": "0.0.0.0/0"}, training={})
    assert line.startswith("network.cidr: overlaps every range AKS could use for pods or services")


def test_a_gpu_pool_cannot_take_or_keep_the_system_pools_name() -> None:
    [line] = problems(training={"gpu_pools": [{"name": "system", "accelerator": "t4"}]})
    assert line.startswith("training.gpu_pools[0].name: 'system' is the name of the AKS system pool")
    [line] = problems(training={"gpu_pools": [{"name": "gpus", "renamed_from": "system", "accelerator": "t4"}]})
    assert line.startswith("training.gpu_pools[0].renamed_from:")


def test_a_shadow_above_half_of_live_traffic_is_refused() -> None:
    [line] = problems(**serving(traffic={"shadow": {"image": "scorer:2.0", "percent": 60}}))
    assert line == "serving.endpoints[0].traffic.shadow.percent: Azure ML mirrors at most 50% of live traffic (got 60)"


def test_a_rollout_longer_than_one_deployment_script_run_is_refused() -> None:
    [line] = problems(**serving(traffic={"strategy": "linear", "canary_percent": 5, "bake_minutes": 120}))
    assert line.startswith("serving.endpoints[0].traffic.bake_minutes: a linear rollout in steps of 5% baking 120 "
                           "minutes each takes 2400 minutes")
    assert problems(**serving(traffic={"strategy": "linear", "canary_percent": 5, "bake_minutes": 60})) == []


def test_every_problem_is_reported_at_once() -> None:
    lines = problems(tags=tags(60), network={"existing_network_id": "my-vnet"},
                     training={"cluster": {"system_pool": {"machine": "m6i.large"}}},
                     **serving(instance="nonsense", traffic={"shadow": {"image": "scorer:2.0", "percent": 80}}))
    fields = [line.split(":", 1)[0] for line in lines]
    assert fields == ["network.existing_network_id", "training.cluster.system_pool.machine",
                      "serving.endpoints[0].instance", "serving.endpoints[0].traffic.shadow.percent", "tags"]


def test_example_stacks_validate() -> None:
    for path in sorted(Path(ROOT / "stacks").glob("Pulumi.azure-*.yaml")):
        parse_spec(stackfile.load(path).spec_data)


# --- hardening (issue 15) -------------------------------------------------------------------------------


def test_a_system_pool_size_that_cannot_encrypt_at_host_is_refused() -> None:
    assert system_machine("Standard_B2s") == [
        "training.cluster.system_pool.machine: Standard_B2s cannot encrypt at host, which every AKS pool mlfabric "
        "builds does: pick a size that can, e.g. Standard_D4s_v5"]


def test_replication_only_to_the_paired_region() -> None:
    assert problems(region="westeurope", storage={"replication_region": "northeurope"}) == []
    assert problems(region="westeurope", storage={"replication_region": "westus2"}) == [
        "storage.replication_region: Azure storage geo-replicates (GRS/GZRS) only to the region's pair; westeurope "
        "allows only its paired region northeurope (got 'westus2')"]
