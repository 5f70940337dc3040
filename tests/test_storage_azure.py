"""AzureStorage (and the Azure provider and resource group) under the mock runtime.

What a mock test cannot prove: that Azure accepts these inputs together — that the role assignment
has propagated before the storage account first reads the key, that ARM creates the key through
the vault firewall, that Azure Monitor delivers logs into an account with shared keys off behind
a firewall, that the management-policy rules and diagnostic categories are the ones the service
evaluates, or that the physical names are still free. Those need a real subscription (README:
limits). The mocks only answer with ARM-shaped ids, URIs and principals, so what is proven here is
the wiring: which resources exist, with which security-relevant inputs, pointing at each other.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mlfabric.components import naming
from mlfabric.components.azure import fakes as azure_fakes
from mlfabric.components.azure import provider as azure_provider
from mlfabric.components.azure.common import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
from mlfabric.components.azure.prerequisites import create_prerequisites
from mlfabric.components.azure.storage import AzureStorage, lifecycle_rule_names
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import BucketSpec, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import Plan, ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data
from tests.helpers import plan as plan_platform

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
POLICY = "azure-native:storage:ManagementPolicy"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
GROUP = "azure-native:resources:ResourceGroup"
PROVIDER = "pulumi:providers:azure-native"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def plan(cloud: str, environment: str, **sections: Any) -> Plan:
    """The platform plan, narrowed to storage's children plus the provider and resource group."""
    full = plan_platform(cloud, environment, **sections)
    platform, storage = (only(full.resources, t).urn for t in ("mlfabric:platform:MLPlatform", "mlfabric:storage:AzureStorage"))
    keep = [r for r in full.resources if r.parent == storage or r.type in (PROVIDER, GROUP)
            or r.urn in (platform, storage)]
    return Plan(full.project, full.stack, full.spec, keep, full.outputs, full.notes)


def data_account(p: Plan) -> ResourceRecord:
    return only(p.resources, ACCOUNT, f"{p.spec.base_name}-storage")


def test_dev_storage_creates_exact_child_types() -> None:
    counts = Counter(r.type for r in plan("azure", "dev").custom_resources)
    assert counts == {
        PROVIDER: 1,
        GROUP: 1,
        VAULT: 1,
        KEY: 1,
        IDENTITY: 1,
        ROLE: 1,
        ACCOUNT: 1,
        BLOB_SERVICE: 1,
        POLICY: 1,
        CONTAINER: 3,
    }


def test_prod_adds_a_log_account_diagnostics_and_deletion_locks() -> None:
    counts = Counter(r.type for r in plan("azure", "prod").custom_resources)
    assert counts == {
        PROVIDER: 1,
        GROUP: 1,
        VAULT: 1,
        KEY: 1,
        IDENTITY: 1,
        ROLE: 1,
        ACCOUNT: 2,
        BLOB_SERVICE: 1,
        POLICY: 2,
        CONTAINER: 3,
        DIAGNOSTICS: 1,
        LOCK: 2,
    }


def test_every_resource_is_a_child_of_the_storage_component_or_the_platform() -> None:
    p = plan("azure", "dev")
    component = only(p.resources, "mlfabric:storage:AzureStorage")
    platform = only(p.resources, "mlfabric:platform:MLPlatform")
    for record in p.custom_resources:
        expected = platform.urn if record.type in (PROVIDER, GROUP) else component.urn
        assert record.parent == expected, record.name
        if record.type != PROVIDER:
            assert record.provider.startswith(only(p.resources, PROVIDER).urn)


def test_provider_is_pinned_to_the_spec_location_and_subscription() -> None:
    subscription = "12345678-aaaa-bbbb-cccc-1234567890ab"
    provider = only(plan("azure", "dev", azure={"subscription_id": subscription}).resources, PROVIDER)
    assert provider.inputs["location"] == "eastus"
    assert provider.inputs["subscriptionId"] == subscription


def test_provider_without_a_subscription_uses_the_logged_in_one() -> None:
    provider = only(plan("azure", "dev").resources, PROVIDER)
    assert provider.inputs["location"] == "eastus"
    assert "subscriptionId" not in provider.inputs


def test_platform_resource_group_is_created_in_the_spec_region_and_holds_every_resource() -> None:
    p = plan("azure", "dev", tags={"team": "risk-ml"})
    group = only(p.resources, GROUP)
    assert group.inputs["resourceGroupName"] == "rg-fraud-dev"
    assert group.inputs["location"] == "eastus"
    assert group.inputs["tags"] == {
        "team": "risk-ml",
        "mlfabric-platform": "fraud",
        "mlfabric-environment": "dev",
        "managed-by": "mlfabric",
    }
    grouped = [r for r in p.custom_resources if r.type not in (PROVIDER, GROUP, ROLE, LOCK, DIAGNOSTICS)]
    assert grouped
    assert {r.inputs["resourceGroupName"] for r in grouped} == {"rg-fraud-dev"}


def test_prod_resource_group_is_protected_and_retained_because_deleting_it_deletes_everything() -> None:
    assert only(plan("azure", "prod").resources, GROUP).protect
    assert only(plan("azure", "prod").resources, GROUP).retain_on_delete
    assert not only(plan("azure", "dev").resources, GROUP).protect


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_storage_accounts_block_public_access_and_require_https_with_tls_1_2(environment: str) -> None:
    accounts = of_type(plan("azure", environment).resources, ACCOUNT)
    assert len(accounts) == (2 if environment == "prod" else 1)
    for account in accounts:
        assert account.inputs["kind"] == "StorageV2"
        assert account.inputs["allowBlobPublicAccess"] is False
        assert account.inputs["enableHttpsTrafficOnly"] is True
        assert account.inputs["minimumTlsVersion"] == "TLS1_2"
        assert account.inputs["allowCrossTenantReplication"] is False
        assert account.inputs["allowedCopyScope"] == "AAD"


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_storage_accounts_accept_only_entra_id_not_shared_keys(environment: str) -> None:
    for account in of_type(plan("azure", environment).resources, ACCOUNT):
        assert account.inputs["allowSharedKeyAccess"] is False
        assert account.inputs["defaultToOAuthAuthentication"] is True
        assert account.inputs["isLocalUserEnabled"] is False
        assert account.inputs["isSftpEnabled"] is False


def test_firewalls_deny_by_default_and_let_only_trusted_azure_services_through() -> None:
    p = plan("azure", "prod")
    for account in of_type(p.resources, ACCOUNT):
        assert account.inputs["publicNetworkAccess"] == "Enabled"
        assert account.inputs["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    vault = only(p.resources, VAULT)
    assert vault.inputs["properties"]["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}


def test_zone_redundant_replication_outside_dev() -> None:
    assert data_account(plan("azure", "dev")).inputs["sku"] == {"name": "Standard_LRS"}
    assert {a.inputs["sku"]["name"] for a in of_type(plan("azure", "prod").resources, ACCOUNT)} == {"Standard_ZRS"}


def test_every_account_is_encrypted_with_the_vault_key_through_the_user_assigned_identity() -> None:
    p = plan("azure", "prod")
    vault, key, identity = only(p.resources, VAULT), only(p.resources, KEY), only(p.resources, IDENTITY)
    vault_uri = f"https://{vault.inputs['vaultName']}.vault.azure.net/"
    for account in of_type(p.resources, ACCOUNT):
        encryption = account.inputs["encryption"]
        assert encryption["keySource"] == "Microsoft.Keyvault"
        # Both values come from computed outputs: if the mock dropped them, these keys would be missing.
        assert encryption["keyVaultProperties"] == {"keyName": key.inputs["keyName"], "keyVaultUri": vault_uri}
        assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": identity.id}
        assert encryption["requireInfrastructureEncryption"] is True
        assert encryption["services"] == {
            service: {"enabled": True, "keyType": "Account"} for service in ("blob", "file", "queue", "table")
        }
        assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert identity.id is not None
    assert identity.id.endswith("/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-fraud-prod-storage")


def test_the_identity_may_only_wrap_keys_with_the_storage_key() -> None:
    p = plan("azure", "dev")
    role, key = only(p.resources, ROLE), only(p.resources, KEY)
    identity = only(p.resources, IDENTITY)
    assert role.inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
        f"{KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER}"
    )
    assert KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER == "e147488a-f6f5-4113-8e2d-b22465e65bf6"
    assert role.inputs["scope"] == key.id
    assert key.id is not None and re.search(r"/providers/Microsoft\.KeyVault/vaults/kv\w+/keys/storage-cmk$", key.id)
    assert role.inputs["principalType"] == "ServicePrincipal"
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", role.inputs["principalId"])
    assert identity.urn in role.property_dependencies["principalId"]


def test_storage_accounts_wait_for_the_key_grant() -> None:
    p = plan("azure", "prod")
    role = only(p.resources, ROLE)
    for account in of_type(p.resources, ACCOUNT):
        assert role.urn in account.dependencies


def test_key_vault_uses_rbac_with_purge_protection_and_90_days_of_soft_delete() -> None:
    properties = only(plan("azure", "dev").resources, VAULT).inputs["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enablePurgeProtection"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["softDeleteRetentionInDays"] == 90
    assert properties["tenantId"] == "11111111-1111-1111-1111-111111111111"
    assert properties["sku"] == {"family": "A", "name": "standard"}
    assert not any(properties[k] for k in ("enabledForDeployment", "enabledForDiskEncryption", "enabledForTemplateDeployment"))
    assert "accessPolicies" not in properties


def test_key_is_rsa_wrap_only_and_rotates_on_the_spec_schedule() -> None:
    key = only(plan("azure", "dev", storage={"key_rotation_days": 180}).resources, KEY)
    properties = key.inputs["properties"]
    assert properties["kty"] == "RSA"
    assert properties["keySize"] == 3072
    assert properties["keyOps"] == ["wrapKey", "unwrapKey"]
    assert properties["rotationPolicy"] == {
        "attributes": {"expiryTime": "P210D"},
        "lifetimeActions": [{"trigger": {"timeAfterCreate": "P180D"}, "action": {"type": "rotate"}}],
    }


def test_versioning_and_change_feed_follow_the_environment() -> None:
    dev = only(plan("azure", "dev").resources, BLOB_SERVICE).inputs
    prod = only(plan("azure", "prod").resources, BLOB_SERVICE).inputs
    assert dev["isVersioningEnabled"] is False
    assert dev["changeFeed"] == {"enabled": False}
    assert prod["isVersioningEnabled"] is True
    assert prod["changeFeed"] == {"enabled": True, "retentionInDays": 90}
    assert prod["blobServicesName"] == "default"


def test_soft_delete_keeps_blobs_and_containers_for_the_noncurrent_retention_within_azure_limits() -> None:
    dev = only(plan("azure", "dev").resources, BLOB_SERVICE).inputs
    assert dev["deleteRetentionPolicy"] == {"enabled": True, "days": 7}
    assert dev["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 7}
    long = only(plan("azure", "prod", storage={"noncurrent_version_retention_days": 1000}).resources, BLOB_SERVICE)
    assert long.inputs["deleteRetentionPolicy"]["days"] == 365  # Azure's maximum


def test_lifecycle_rules_follow_the_bucket_spec_per_container_prefix() -> None:
    p = plan("azure", "dev", storage={"buckets": [
        {"name": "raw-data", "retention_days": 400, "archive_after_days": 60},
        {"name": "models"},
    ]})
    policy = only(p.resources, POLICY, "fraud-dev-storage")
    assert policy.inputs["managementPolicyName"] == "default"
    rules = {r["name"]: r for r in policy.inputs["policy"]["rules"]}
    assert set(rules) == {"rawDataLifecycle", "modelsLifecycle"}
    raw = rules["rawDataLifecycle"]
    assert raw["enabled"] is True and raw["type"] == "Lifecycle"
    assert raw["definition"]["filters"] == {"blobTypes": ["blockBlob"], "prefixMatch": ["raw-data/"]}
    assert raw["definition"]["actions"] == {
        "baseBlob": {
            "tierToCool": {"daysAfterCreationGreaterThan": 60},
            "delete": {"daysAfterCreationGreaterThan": 400},
        },
        "version": {"delete": {"daysAfterCreationGreaterThan": 7}},
    }
    assert rules["modelsLifecycle"]["definition"]["actions"] == {"version": {"delete": {"daysAfterCreationGreaterThan": 7}}}


def test_lifecycle_rules_are_created_after_the_containers_they_name() -> None:
    p = plan("azure", "dev")
    policy = only(p.resources, POLICY)
    assert {c.urn for c in of_type(p.resources, CONTAINER)} <= set(policy.dependencies)


def test_lifecycle_rule_names_are_alphanumeric_and_unique() -> None:
    names = lifecycle_rule_names([BucketSpec(name="ab-1"), BucketSpec(name="ab1"), BucketSpec(name="raw-data")])
    assert names["raw-data"] == "rawDataLifecycle"
    assert len(set(names.values())) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9]+", n) for n in names.values())


def test_one_private_container_per_bucket_in_the_platform_account() -> None:
    p = plan("azure", "dev")
    account = data_account(p)
    containers = of_type(p.resources, CONTAINER)
    assert sorted(c.inputs["containerName"] for c in containers) == ["artifacts", "datasets", "models"]
    for container in containers:
        assert container.inputs["publicAccess"] == "None"
        assert container.inputs["accountName"] == account.inputs["accountName"]
        assert container.name == f"fraud-dev-{container.inputs['containerName']}"


def test_prod_stateful_resources_are_protected_and_retained_on_delete() -> None:
    p = plan("azure", "prod")
    stateful = [r for r in p.custom_resources if r.type in (ACCOUNT, VAULT, KEY, IDENTITY, ROLE, CONTAINER, GROUP)]
    assert len(stateful) == 10  # 2 accounts, vault, key, identity, key grant, 3 containers, resource group
    assert all(r.protect and r.retain_on_delete for r in stateful)


def test_dev_resources_are_neither_protected_nor_retained() -> None:
    assert not any(r.protect or r.retain_on_delete for r in plan("azure", "dev").custom_resources)


def test_prod_locks_each_storage_account_against_deletion_in_azure() -> None:
    p = plan("azure", "prod")
    locks = of_type(p.resources, LOCK)
    assert {lock.inputs["scope"] for lock in locks} == {a.id for a in of_type(p.resources, ACCOUNT)}
    assert {lock.inputs["level"] for lock in locks} == {"CanNotDelete"}
    assert not of_type(plan("azure", "dev").resources, LOCK)


def test_prod_sends_blob_access_logs_to_a_dedicated_account() -> None:
    p = plan("azure", "prod")
    logs = only(p.resources, ACCOUNT, "fraud-prod-access-logs")
    setting = only(p.resources, DIAGNOSTICS)
    assert setting.inputs["resourceUri"] == f"{data_account(p).id}/blobServices/default"
    assert setting.inputs["storageAccountId"] == logs.id
    assert setting.inputs["logs"] == [
        {"category": c, "enabled": True} for c in ("StorageRead", "StorageWrite", "StorageDelete")
    ]
    expiry = only(p.resources, POLICY, "fraud-prod-access-logs").inputs["policy"]["rules"][0]
    assert expiry["definition"]["filters"]["prefixMatch"] == ["insights-logs-"]
    assert expiry["definition"]["actions"]["baseBlob"]["delete"] == {"daysAfterModificationGreaterThan": 365}
    assert logs.inputs["tags"]["mlfabric-bucket"] == "access-logs"


def test_dev_has_no_access_logging() -> None:
    p = plan("azure", "dev")
    assert not of_type(p.resources, DIAGNOSTICS)
    assert len(of_type(p.resources, ACCOUNT)) == 1


def test_taggable_resources_carry_merged_tags_with_identity_tags_last() -> None:
    p = plan("azure", "prod", tags={"team": "risk-ml", "cost-center": "4711"})
    expected = {
        "team": "risk-ml",
        "cost-center": "4711",
        "mlfabric-platform": "fraud",
        "mlfabric-environment": "prod",
        "managed-by": "mlfabric",
    }
    taggable = [r for r in p.custom_resources if r.type in (GROUP, VAULT, KEY, IDENTITY, ACCOUNT)]
    assert len(taggable) == 6
    for record in taggable:
        extra = {"mlfabric-bucket": "access-logs"} if record.name.endswith("access-logs") else {}
        assert record.inputs["tags"] == {**expected, **extra}, record.name


def test_physical_names_fit_azure_rules_and_are_stable_across_runs() -> None:
    first, second = plan("azure", "staging"), plan("azure", "staging")
    for typ, key in ((ACCOUNT, "accountName"), (VAULT, "vaultName")):
        names = [r.inputs[key] for r in of_type(first.resources, typ)]
        assert names == [r.inputs[key] for r in of_type(second.resources, typ)]
        assert all(re.fullmatch(r"[a-z][a-z0-9]{2,23}", n) for n in names), names
    assert data_account(first).inputs["accountName"] == naming.compact_name(
        "st", "fraud-staging", max_length=24, unique_by=(SUBSCRIPTION, "fraud-staging", "storage")
    )


def test_stack_outputs_name_every_container_with_its_blob_url_and_the_key_uri() -> None:
    p = plan("azure", "dev")
    account = data_account(p).inputs["accountName"]
    assert p.outputs["bucket_names"] == {"datasets": "datasets", "artifacts": "artifacts", "models": "models"}
    assert p.outputs["bucket_urls"]["models"] == f"https://{account}.blob.core.windows.net/models"
    vault = only(p.resources, VAULT).inputs["vaultName"]
    assert p.outputs["storage_key_id"] == f"https://{vault}.vault.azure.net/keys/storage-cmk"


def _component_outputs(environment: str) -> dict[str, Any]:
    """AzureStorage's own outputs (including those MLPlatform does not export)."""
    spec = parse_spec(spec_data("azure", environment))

    def program() -> None:
        root = pulumi.ComponentResource("test:index:Root", "root")
        provider = azure_provider.create_provider("t", spec, root)
        child = pulumi.ResourceOptions(parent=root, providers=[provider])
        ctx = PlatformContext.from_spec(spec)
        ctx = create_prerequisites("t", spec, ctx, child)
        storage = AzureStorage("t", spec.storage, ctx, child)
        for name in ("bucket_names", "bucket_urls", "bucket_ids", "encryption_key_id", "access_log_bucket"):
            pulumi.export(name, getattr(storage, name))

    _, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="eastus"),
    )
    return outputs


def test_component_exposes_container_ids_and_the_log_account_only_when_logging() -> None:
    prod, dev = _component_outputs("prod"), _component_outputs("dev")
    assert set(prod["bucket_ids"]) == {"datasets", "artifacts", "models"}
    assert re.fullmatch(
        rf"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-fraud-prod/providers/Microsoft\.Storage/"
        r"storageAccounts/st\w+/blobServices/default/containers/datasets",
        prod["bucket_ids"]["datasets"],
    )
    assert prod["access_log_bucket"].startswith("stlogfraudprod")
    assert dev["access_log_bucket"] == ""
    assert dev["encryption_key_id"].endswith("/keys/storage-cmk")


def test_component_without_a_resource_group_fails_with_a_clear_message() -> None:
    spec = parse_spec(spec_data("azure", "dev"))
    errors: list[str] = []

    def program() -> None:
        try:
            AzureStorage("t", spec.storage, PlatformContext.from_spec(spec))
        except pulumi.RunError as error:
            errors.append(str(error))

    run_program(program, project="mlfabric", stack="test", config={}, secret_keys=[],
                world=World(project="mlfabric", stack="test", region="eastus"))
    assert errors and "ctx.prerequisites" in errors[0]


def test_mock_answers_api_versioned_type_tokens_like_the_default_ones() -> None:
    world = World(project="p", stack="s", region="eastus")
    inputs = {"accountName": "stexample", "resourceGroupName": "rg-x"}
    assert azure_fakes.kind_of("azure-native:storage/v20230101:StorageAccount") == "storage:StorageAccount"
    versioned = azure_fakes.outputs("azure-native:storage/v20230101:StorageAccount", "x", inputs, world)
    default = azure_fakes.outputs("azure-native:storage:StorageAccount", "x", inputs, world)
    assert versioned == default
    assert versioned["__id"] == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-x/providers/Microsoft.Storage/storageAccounts/stexample"
    assert versioned["primaryEndpoints"]["blob"] == "https://stexample.blob.core.windows.net/"


def test_the_example_azure_stack_plans_without_loading_another_cloud_sdk() -> None:
    script = (
        "import sys; from pathlib import Path; from mlfabric import stackfile; from mlfabric.plan import plan_stack; "
        "p = plan_stack(stackfile.load(Path('stacks/Pulumi.azure-dev.yaml'))); "
        "print(len(p.custom_resources), sorted(m for m in sys.modules if m.startswith(('pulumi_aws', 'pulumi_gcp'))))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    count, modules = result.stdout.split(maxsplit=1)
    assert int(count) > 50 and modules == "[]\n"


# --- hardening (issue 15) -------------------------------------------------------------------------------


def test_prod_keys_are_hsm_backed_in_a_premium_vault_and_dev_keeps_software_keys() -> None:
    prod, dev = plan("azure", "prod"), plan("azure", "dev")
    assert only(prod.resources, VAULT).inputs["properties"]["sku"]["name"] == "premium"
    assert only(prod.resources, KEY).inputs["properties"]["kty"] == "RSA-HSM"
    assert only(dev.resources, VAULT).inputs["properties"]["sku"]["name"] == "standard"
    assert only(dev.resources, KEY).inputs["properties"]["kty"] == "RSA"


def test_the_data_account_closes_its_public_endpoint_when_private_endpoints_exist() -> None:
    registry = {"repositories": ["scorer"], "models": ["fraud"], "immutable_tags": False, "scan_on_push": False}
    prod = plan("azure", "prod", training={"gpu_pools": []}, registry=registry)
    assert data_account(prod).inputs["publicNetworkAccess"] == "Disabled"
    # no registry section, no private endpoint to reach the account through: it keeps its firewall
    assert data_account(plan("azure", "prod", training={"gpu_pools": []})).inputs["publicNetworkAccess"] == "Enabled"
    # trusted services (Azure Monitor, Network Watcher) deliver logs through the log account's firewall
    assert only(prod.resources, ACCOUNT, f"{prod.spec.base_name}-access-logs").inputs["publicNetworkAccess"] == "Enabled"
    assert data_account(plan("azure", "dev")).inputs["publicNetworkAccess"] == "Enabled"


@pytest.mark.parametrize(("environment", "sku"), [("dev", "Standard_GRS"), ("prod", "Standard_GZRS")])
def test_replication_to_the_paired_region_makes_the_data_account_geo_redundant(environment: str, sku: str) -> None:
    p = plan("azure", environment, region="westeurope", storage={"replication_region": "northeurope",
                                                                   "buckets": [{"name": "datasets"}]})
    assert data_account(p).inputs["sku"] == {"name": sku}
