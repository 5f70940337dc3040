"""AzureRegistry under the mock runtime, built directly (no MLPlatform) on stand-in storage handles
and, for private endpoints, a real AzureNetwork.

What a mock test cannot prove: that Azure accepts the storage key for the registry's and the
workspace's encryption through the user-assigned identity (and a versionless key URI), that the
workspace accepts an identity-only storage account behind a firewall, that service-side CMK is
available in the region, that Azure ML grants the workspace identity its roles, or that the private
endpoints resolve. Those need a real subscription (README: limits).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlfabric.check import Source, check_source
from mlfabric.components.azure.common import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
from mlfabric.components.azure.network import AzureNetwork
from mlfabric.components.azure.registry import AzureRegistry, key_vault_ids
from mlfabric.components.concerns import RegistryOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from mlfabric.policies.rules.iam import CONTRIBUTOR_ID, OWNER_ID
from tests.azure_support import prerequisites
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:registry:AzureRegistry"
ACR = "azure-native:containerregistry:Registry"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
MODEL = "azure-native:machinelearningservices:RegistryModelContainer"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-x"
ACCOUNT_ID = f"{GROUP_ID}/providers/Microsoft.Storage/storageAccounts/stx"
VAULT_ID = f"{GROUP_ID}/providers/Microsoft.KeyVault/vaults/kvx"
KEY_URI = "https://kvx.vault.azure.net/keys/storage-cmk"
INSIGHTS_ID = f"{GROUP_ID}/providers/Microsoft.Insights/components/appi-x"
REGISTRY: dict[str, Any] = {"repositories": ["trainer", "scorer"], "models": ["fraud-detector", "churn"]}


def storage_handles() -> SimpleNamespace:
    """What AzureStorage exposes, as the registry reads it."""
    containers = {b: f"{ACCOUNT_ID}/blobServices/default/containers/{b}" for b in ("datasets", "artifacts", "models")}
    return SimpleNamespace(
        bucket_ids=pulumi.Output.from_input(containers),
        bucket_names=pulumi.Output.from_input({b: b for b in containers}),
        encryption_key_id=pulumi.Output.from_input(KEY_URI),
    )


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    conforms: bool

    @property
    def children(self) -> list[ResourceRecord]:
        component = only(self.records, COMPONENT)
        return [r for r in self.records if r.custom and r.parent == component.urn]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.children)


def build(environment: str, registry: dict[str, Any] | None = None) -> Built:
    # Azure refuses immutable_tags and scan_on_push outside dev (README: capability table).
    registry = registry or ({**REGISTRY, "immutable_tags": False, "scan_on_push": False} if environment != "dev"
                            else REGISTRY)
    spec = parse_spec(spec_data("azure", environment, region="westeurope", registry=registry))
    assert spec.registry is not None
    registry_spec = spec.registry
    ctx = PlatformContext.from_spec(spec).with_handles(
        prerequisites=prerequisites(insights_id=INSIGHTS_ID), storage=storage_handles()
    )
    conforms: list[bool] = []

    def program() -> None:
        network = AzureNetwork(spec.base_name, spec.network, ctx)
        component = AzureRegistry(spec.base_name, registry_spec, ctx.with_handles(network=network))
        conforms.append(isinstance(component, RegistryOutputs))
        pulumi.export("registry_urls", component.registry_urls)
        pulumi.export("model_registry_ids", component.model_registry_ids)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack=f"azure-{environment}", config={}, secret_keys=[],
        world=World(project="mlfabric", stack=f"azure-{environment}", region="westeurope"),
    )
    return Built(records, outputs, all(conforms))


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev")


@pytest.fixture(scope="module")
def prod() -> Built:
    return build("prod")


def test_dev_registry_creates_exact_child_types(dev: Built) -> None:
    assert dev.counts() == {IDENTITY: 1, ROLE: 1, ACR: 1, WORKSPACE: 1, ML_REGISTRY: 1, MODEL: 2}


def test_private_endpoints_add_one_endpoint_and_zone_group_per_target(prod: Built, dev: Built) -> None:
    assert prod.counts() - dev.counts() == {ENDPOINT: 5, ZONE_GROUP: 5}
    groups = sorted(e.inputs["privateLinkServiceConnections"][0]["groupIds"][0] for e in of_type(prod.records, ENDPOINT))
    assert groups == ["amlregistry", "amlworkspace", "blob", "file", "registry"]
    targets = {e.name: e.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] for e in of_type(prod.records, ENDPOINT)}
    assert targets["fraud-prod-storage-blob"] == targets["fraud-prod-storage-file"] == ACCOUNT_ID
    assert targets["fraud-prod-acr"] == only(prod.records, ACR).id
    assert targets["fraud-prod-ml"] == only(prod.records, WORKSPACE).id
    assert targets["fraud-prod-models"] == only(prod.records, ML_REGISTRY).id


def test_no_model_and_no_repository_still_gives_the_workspace_its_registry() -> None:
    built = build("dev", {"repositories": [], "models": []})
    assert built.counts() == {IDENTITY: 1, ROLE: 1, ACR: 1, WORKSPACE: 1, ML_REGISTRY: 1}
    assert built.outputs["registry_urls"] == {}
    assert built.outputs["model_registry_ids"] == {}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_container_registry_has_no_admin_user_and_no_anonymous_pull(environment: str, dev: Built, prod: Built) -> None:
    acr = only((dev if environment == "dev" else prod).records, ACR).inputs
    assert acr["adminUserEnabled"] is False
    assert acr["anonymousPullEnabled"] is False
    assert acr["networkRuleBypassOptions"] == "AzureServices"


def test_dev_registry_is_standard_and_public(dev: Built) -> None:
    acr = only(dev.records, ACR).inputs
    assert acr["sku"] == {"name": "Standard"}
    assert acr["publicNetworkAccess"] == "Enabled"
    assert "policies" not in acr and "encryption" not in acr


def test_prod_registry_is_premium_private_zone_redundant_with_retention_and_the_platform_key(prod: Built) -> None:
    acr = only(prod.records, ACR).inputs
    identity = only(prod.records, IDENTITY)
    assert acr["sku"] == {"name": "Premium"}
    assert acr["publicNetworkAccess"] == "Disabled"
    assert acr["networkRuleSet"] == {"defaultAction": "Deny"}
    assert acr["zoneRedundancy"] == "Enabled"
    assert acr["policies"] == {"retentionPolicy": {"days": 14, "status": "enabled"}}
    assert acr["encryption"] == {
        "status": "enabled",
        "keyVaultProperties": {"keyIdentifier": KEY_URI, "identity": acr["encryption"]["keyVaultProperties"]["identity"]},
    }
    assert acr["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {identity.id: {}}}


def test_workspace_links_storage_vault_registry_and_application_insights(dev: Built) -> None:
    workspace = only(dev.records, WORKSPACE).inputs
    assert workspace["storageAccount"] == ACCOUNT_ID
    assert workspace["keyVault"] == VAULT_ID
    assert workspace["containerRegistry"] == only(dev.records, ACR).id
    assert workspace["applicationInsights"] == INSIGHTS_ID
    assert workspace["systemDatastoresAuthMode"] == "identity"
    assert workspace["workspaceName"] == "mlw-fraud-dev"


def test_workspace_is_encrypted_with_the_platform_key_through_the_registry_identity(dev: Built) -> None:
    workspace = only(dev.records, WORKSPACE).inputs
    identity = only(dev.records, IDENTITY)
    assert workspace["encryption"] == {
        "status": "Enabled",
        "keyVaultProperties": {"keyIdentifier": KEY_URI, "keyVaultArmId": VAULT_ID},
        "identity": {"userAssignedIdentity": identity.id},
    }
    assert workspace["identity"] == {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": [identity.id]}


def test_workspace_is_private_in_prod(dev: Built, prod: Built) -> None:
    assert only(dev.records, WORKSPACE).inputs["publicNetworkAccess"] == "Enabled"
    assert only(prod.records, WORKSPACE).inputs["publicNetworkAccess"] == "Disabled"
    assert only(prod.records, ML_REGISTRY).inputs["publicNetworkAccess"] == "Disabled"


def test_the_registry_identity_may_only_use_the_storage_key_and_nothing_else(dev: Built) -> None:
    [role] = of_type(dev.records, ROLE)
    assert role.inputs["roleDefinitionId"].endswith(KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
    assert role.inputs["scope"] == f"{VAULT_ID}/keys/storage-cmk"
    assert role.inputs["principalType"] == "ServicePrincipal"
    assert not role.inputs["roleDefinitionId"].endswith((OWNER_ID, CONTRIBUTOR_ID))
    for typ in (ACR, WORKSPACE):
        assert role.urn in only(dev.records, typ).dependencies


def test_model_registry_keeps_its_blobs_private_and_holds_one_container_per_model(dev: Built) -> None:
    registry = only(dev.records, ML_REGISTRY).inputs
    [region] = registry["regionDetails"]
    storage = region["storageAccountDetails"][0]["systemCreatedStorageAccount"]
    assert storage["allowBlobPublicAccess"] is False
    assert region["location"] == "westeurope"
    models = {m.inputs["modelName"]: m for m in of_type(dev.records, MODEL)}
    assert set(models) == {"fraud-detector", "churn"}
    assert {m.inputs["registryName"] for m in models.values()} == {"mlr-fraud-dev"}


def test_outputs_address_repositories_under_the_login_server_and_models_by_container_id(dev: Built) -> None:
    assert dev.conforms
    login = only(dev.records, ACR).inputs["registryName"] + ".azurecr.io"
    assert dev.outputs["registry_urls"] == {"trainer": f"{login}/trainer", "scorer": f"{login}/scorer"}
    assert dev.outputs["model_registry_ids"]["churn"] == (
        f"{GROUP_ID}/providers/Microsoft.MachineLearningServices/registries/mlr-fraud-dev/models/churn"
    )


def test_stateful_resources_are_protected_in_prod(prod: Built, dev: Built) -> None:
    for typ in (ACR, WORKSPACE, ML_REGISTRY, MODEL, IDENTITY):
        assert all(r.protect and r.retain_on_delete for r in of_type(prod.records, typ)), typ
        assert not any(r.protect for r in of_type(dev.records, typ)), typ


def test_key_vault_ids_come_from_the_key_uri() -> None:
    assert key_vault_ids(SUBSCRIPTION, "rg-x", KEY_URI) == (VAULT_ID, f"{VAULT_ID}/keys/storage-cmk")
    with pytest.raises(pulumi.RunError, match="not a Key Vault key URI"):
        key_vault_ids(SUBSCRIPTION, "rg-x", "https://example.com/")


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_policy_pack_finds_nothing_mandatory(environment: str, dev: Built, prod: Built) -> None:
    built = dev if environment == "dev" else prod
    report = check_source(Source("test", "mlfabric", environment, "azure", "", built.records))
    assert [f"{v.rule_id}: {v.message}" for v in report.violations if v.mandatory] == []


# --- hardening (issue 15) -------------------------------------------------------------------------------


def test_the_workspace_runs_in_a_managed_network_approved_outbound_outside_dev(dev: Built, prod: Built) -> None:
    assert only(prod.records, WORKSPACE).inputs["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    # dev: internet outbound, so package installs need no FQDN rules (a billed managed firewall)
    assert only(dev.records, WORKSPACE).inputs["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"


def test_the_managed_network_reaches_storage_vault_and_both_registries_through_private_endpoints(prod: Built) -> None:
    rules = only(prod.records, WORKSPACE).inputs["managedNetwork"]["outboundRules"]
    targets = {name: (r["type"], r["destination"]["subresourceTarget"], r["destination"]["serviceResourceId"])
               for name, r in rules.items()}
    assert {name: sub for name, (_, sub, _) in targets.items()} == {
        "mlfabric-storage-blob": "blob", "mlfabric-storage-file": "file", "mlfabric-key-vault": "vault",
        "mlfabric-container-registry": "registry", "mlfabric-model-registry": "amlregistry"}
    assert {kind for kind, _, _ in targets.values()} == {"PrivateEndpoint"}
    assert "/Microsoft.KeyVault/vaults/" in targets["mlfabric-key-vault"][2]
    assert targets["mlfabric-model-registry"][2].endswith("/registries/mlr-speech-prod") or \
        "/Microsoft.MachineLearningServices/registries/" in targets["mlfabric-model-registry"][2]
