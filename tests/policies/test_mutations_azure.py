"""Every secure property the pack guards on Azure, flipped one at a time in the azure-prod plan, is caught.

The prod example stack is planned once (the path ``mlfabric check -s azure-prod`` takes) and checked
with the prod policy config: no mandatory violation. Each mutation edits one input of one recorded
resource in a fresh copy and re-runs the whole pack; the test asserts a violation names that resource
(and, for the issue-15 rules, which rule). What this cannot prove: that the engine hands a real
preview's inputs in the same shape as the mock runtime records them.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mlfabric.check import Source, run_pack
from mlfabric.check.config import config_for_environment, load_pack_config
from mlfabric.check.runner import Violation
from mlfabric.plan import ResourceRecord

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
ACCOUNT = "azure-native:storage:StorageAccount"
ROLE = "azure-native:authorization:RoleAssignment"
STORAGE_ACCOUNT_CONTRIBUTOR = "/providers/Microsoft.Authorization/roleDefinitions/17d1049b-9a84-46fb-8f53-869881c3d3ab"
DELETE = object()


@cache
def _plan() -> tuple[ResourceRecord, ...]:
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    return tuple(plan_stack(stackfile.load(ROOT / "stacks" / "Pulumi.azure-prod.yaml")).resources)


def _violations(resources: list[ResourceRecord]) -> list[Violation]:
    source = Source("azure-prod", "mlfabric", "prod", None, "", resources)
    return run_pack(source, load_pack_config(config_for_environment("prod"))).violations


def _set(props: dict[str, Any], path: str, value: Any) -> None:
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]
    node: Any = props
    for key in keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value


def _persona_assignment() -> str:
    return next(r.name for r in _plan() if r.type == ROLE and not r.inputs.get("principalType"))


# (resource type, resource name, input path, new value, rule id or None for "any rule")
MUTATIONS: list[tuple[str, str, str, Any, str | None]] = [
    # issue 15
    (CLUSTER, "speech-prod", "agentPoolProfiles[0].enableEncryptionAtHost", False, "mlf-aks-encryption-at-host"),
    (POOL, "speech-prod-gpu-a100", "enableEncryptionAtHost", DELETE, "mlf-aks-encryption-at-host"),
    (POOL, "speech-prod-gpu-t4", "enableEncryptionAtHost", False, "mlf-aks-encryption-at-host"),
    (CLUSTER, "speech-prod", "networkProfile.networkPolicy", DELETE, "mlf-aks-network-policy"),
    (WORKSPACE, "speech-prod-ml", "managedNetwork.isolationMode", "AllowInternetOutbound", "mlf-aml-managed-network"),
    (WORKSPACE, "speech-prod-ml", "managedNetwork", DELETE, "mlf-aml-managed-network"),
    (VAULT, "speech-prod-storage", "properties.sku.name", "standard", "mlf-keyvault-hsm-keys"),
    (VAULT, "speech-prod-kms", "properties.sku.name", "standard", "mlf-keyvault-hsm-keys"),
    (KEY, "speech-prod-storage", "properties.kty", "RSA", "mlf-keyvault-hsm-keys"),
    (KEY, "speech-prod-kms", "properties.kty", "RSA", "mlf-keyvault-hsm-keys"),
    (ACCOUNT, "speech-prod-storage", "publicNetworkAccess", "Enabled", "mlf-azure-private-endpoint-only"),
    (ACCOUNT, "speech-prod-storage", "sku.name", "Standard_ZRS", "mlf-azure-storage-geo-replication"),
    (ROLE, "<persona>", "roleDefinitionId", STORAGE_ACCOUNT_CONTRIBUTOR, "mlf-azure-no-guardrail-roles"),
    # rules that were there before (any rule naming the resource will do)
    (ACCOUNT, "speech-prod-storage", "allowBlobPublicAccess", True, None),
    (ACCOUNT, "speech-prod-storage", "minimumTlsVersion", "TLS1_0", None),
    (ACCOUNT, "speech-prod-storage", "encryption.keySource", "Microsoft.Storage", None),
    (ACCOUNT, "speech-prod-access-logs", "minimumTlsVersion", "TLS1_1", None),
    (VAULT, "speech-prod-storage", "properties.enablePurgeProtection", False, None),
    (KEY, "speech-prod-storage", "properties.rotationPolicy", DELETE, None),
]


def test_the_unmutated_prod_plan_has_no_mandatory_violation() -> None:
    assert [v for v in _violations(list(_plan())) if v.mandatory] == []


@pytest.mark.parametrize(("type_token", "name", "path", "value", "rule"), MUTATIONS,
                         ids=[f"{m[1]}:{m[2]}" for m in MUTATIONS])
def test_each_flipped_secure_property_is_caught_and_names_the_resource(
    type_token: str, name: str, path: str, value: Any, rule: str | None
) -> None:
    name = _persona_assignment() if name == "<persona>" else name
    resources = [copy.deepcopy(r) for r in _plan()]
    [target] = [r for r in resources if r.type == type_token and r.name == name]
    _set(target.inputs, path, value)
    caught = [v for v in _violations(resources) if v.resource_name == name and (rule is None or v.rule_id == rule)]
    assert caught, f"flipping {path} on {name} went unnoticed"
