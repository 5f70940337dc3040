"""AzureRbac under the mock runtime on stand-in handles of the other concerns (no MLPlatform).

What a mock test cannot prove: that the object ids exist in the tenant, that Azure resolves their
principal type when none is sent, that these built-in roles are enough for each persona's work, or
that a training pod really exchanges its service-account token for the identity's. Those need a
real subscription and cluster (README: limits).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlfabric.check import Source, check_source
from mlfabric.components import naming
from mlfabric.components.azure.rbac import (
    ACR_PULL,
    ACR_PUSH,
    AKS_CLUSTER_USER,
    AKS_RBAC_ADMIN,
    AKS_RBAC_READER,
    AKS_RBAC_WRITER,
    BLOB_CONTRIBUTOR,
    BLOB_READER,
    FORBIDDEN_ROLE_GUIDS,
    LOG_ANALYTICS_READER,
    ML_DATA_SCIENTIST,
    PERSONA_ROLES,
    READER,
    AzureRbac,
)
from mlfabric.components.concerns import RbacOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from mlfabric.policies.rules.iam import CONTRIBUTOR_ID, OWNER_ID
from tests.azure_support import WORKSPACE_ID, prerequisites
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:rbac:AzureRbac"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-x"
ACCOUNT_ID = f"{GROUP_ID}/providers/Microsoft.Storage/storageAccounts/stx"
ACR_ID = f"{GROUP_ID}/providers/Microsoft.ContainerRegistry/registries/crx"
ML_ID = f"{GROUP_ID}/providers/Microsoft.MachineLearningServices/workspaces/mlw-x"
ML_REGISTRY_ID = f"{GROUP_ID}/providers/Microsoft.MachineLearningServices/registries/mlr-x"
CLUSTER_ID = f"{GROUP_ID}/providers/Microsoft.ContainerService/managedClusters/aks-x"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/tenant/issuer/"
SCIENTIST = "0b0f8f6e-1d2c-4c4b-9a57-3e5d2b7a9c11"
SCIENTIST_2 = "1c1f8f6e-1d2c-4c4b-9a57-3e5d2b7a9c12"
ADMIN = "5c7e2a94-8f3b-4d61-b0a2-9e4f1c6d8b23"
PERSONAS: dict[str, list[str]] = {"data-scientist": [SCIENTIST, SCIENTIST_2], "platform-admin": [ADMIN]}


def container(bucket: str) -> str:
    return f"{ACCOUNT_ID}/blobServices/default/containers/{bucket}"


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    conforms: bool

    def counts(self) -> Counter[str]:
        component = only(self.records, COMPONENT)
        return Counter(r.type for r in self.records if r.custom and r.parent == component.urn)

    def grants(self, principal: str) -> set[tuple[str, str]]:
        """(role GUID, scope) pairs granted to ``principal``."""
        return {
            (r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"])
            for r in of_type(self.records, ROLE)
            if r.inputs["principalId"] == principal
        }


def build(personas: dict[str, Any], *, cluster: bool = True, registry: bool = True,
          buckets: tuple[str, ...] = ("datasets", "artifacts", "models"),
          custom: dict[str, Any] | None = None) -> Built:
    spec = parse_spec(spec_data(
        "azure", "dev", region="westeurope", rbac={"personas": personas, "custom_personas": custom or {}},
        storage={"buckets": [{"name": b} for b in buckets]},
    ))
    conforms: list[bool] = []

    def program() -> None:
        handles: dict[str, object] = {
            "prerequisites": prerequisites(),
            "storage": SimpleNamespace(
                bucket_ids=pulumi.Output.from_input({b: container(b) for b in buckets}),
            ),
        }
        if registry:
            handles["registry"] = SimpleNamespace(
                container_registry_id=pulumi.Output.from_input(ACR_ID),
                ml_workspace_id=pulumi.Output.from_input(ML_ID),
                ml_registry_id=pulumi.Output.from_input(ML_REGISTRY_ID),
            )
        if cluster:
            handles["cluster"] = SimpleNamespace(
                cluster_id=pulumi.Output.from_input(CLUSTER_ID), oidc_issuer_url=pulumi.Output.from_input(ISSUER)
            )
        component = AzureRbac(spec.base_name, spec.rbac, PlatformContext.from_spec(spec).with_handles(**handles))
        conforms.append(isinstance(component, RbacOutputs))
        pulumi.export("persona_roles", component.persona_roles)
        pulumi.export("workload_identity", component.workload_identity)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack="azure-dev", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="azure-dev", region="westeurope"),
    )
    return Built(records, outputs, all(conforms))


@pytest.fixture(scope="module")
def full() -> Built:
    return build(PERSONAS)


def test_one_assignment_per_principal_and_persona_role_plus_the_training_identity(full: Built) -> None:
    persona_grants = 2 * len(PERSONA_ROLES["data-scientist"]) + len(PERSONA_ROLES["platform-admin"])
    assert full.counts() == {ROLE: persona_grants + 2, IDENTITY: 1, FEDERATED: 1}


def test_a_data_scientist_gets_exactly_the_read_and_experiment_roles(full: Built) -> None:
    assert full.grants(SCIENTIST) == {
        (ML_DATA_SCIENTIST.guid, ML_ID),
        ("1823dd4f-9b8c-4ab6-ab4e-7397a3684615", ML_REGISTRY_ID),
        (BLOB_READER.guid, ACCOUNT_ID),
        (BLOB_CONTRIBUTOR.guid, container("artifacts")),
        (ACR_PULL.guid, ACR_ID),
        (AKS_CLUSTER_USER.guid, CLUSTER_ID),
        (AKS_RBAC_READER.guid, CLUSTER_ID),
    }
    assert full.grants(SCIENTIST_2) == full.grants(SCIENTIST)


def test_a_platform_admin_administers_the_cluster_but_owns_nothing(full: Built) -> None:
    grants = full.grants(ADMIN)
    assert (AKS_RBAC_ADMIN.guid, CLUSTER_ID) in grants
    assert (BLOB_CONTRIBUTOR.guid, ACCOUNT_ID) in grants


def test_no_assignment_is_owner_contributor_or_at_group_or_subscription_scope(full: Built) -> None:
    platform_scopes = {ACCOUNT_ID, ACR_ID, ML_ID, ML_REGISTRY_ID, CLUSTER_ID} | {container(b) for b in ("datasets", "artifacts", "models")}
    for role in of_type(full.records, ROLE):
        guid = role.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert guid not in FORBIDDEN_ROLE_GUIDS and guid not in (OWNER_ID, CONTRIBUTOR_ID)
        assert role.inputs["scope"] in platform_scopes, role.name
        assert role.inputs["roleDefinitionId"].startswith(f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/")


def test_persona_principal_types_are_left_for_azure_to_resolve(full: Built) -> None:
    for role in of_type(full.records, ROLE):
        if role.inputs["principalId"] in (SCIENTIST, SCIENTIST_2, ADMIN):
            assert "principalType" not in role.inputs  # users, groups or service principals


def test_training_pods_federate_their_service_account_with_a_user_assigned_identity(full: Built) -> None:
    identity, credential = only(full.records, IDENTITY), only(full.records, FEDERATED)
    assert identity.inputs["resourceName"] == "id-fraud-dev-training"
    assert credential.inputs["issuer"] == ISSUER
    assert credential.inputs["subject"] == "system:serviceaccount:ml-training:training"
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert credential.inputs["resourceName"] == "id-fraud-dev-training"


def test_training_pods_read_datasets_and_write_artifacts_only(full: Built) -> None:
    identity = only(full.records, IDENTITY)
    workload = [r for r in of_type(full.records, ROLE) if identity.urn in r.property_dependencies.get("principalId", [])]
    grants = {(r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"]) for r in workload}
    assert grants == {(BLOB_READER.guid, container("datasets")), (BLOB_CONTRIBUTOR.guid, container("artifacts"))}
    assert all(r.inputs["principalType"] == "ServicePrincipal" for r in workload)


def test_outputs_list_each_personas_roles_and_the_training_client_id(full: Built) -> None:
    assert full.conforms
    assert full.outputs["persona_roles"]["data-scientist"].split(", ") == sorted(
        {role.name for role, _ in PERSONA_ROLES["data-scientist"]}
    )
    client = full.outputs["workload_identity"]
    assert len(client) == 36 and client.count("-") == 4


def test_without_a_cluster_there_is_no_training_identity_and_no_cluster_role() -> None:
    built = build(PERSONAS, cluster=False)
    assert built.counts()[IDENTITY] == 0
    assert not any(scope == CLUSTER_ID for _, scope in built.grants(ADMIN))
    assert built.outputs["workload_identity"] == ""


def test_grants_on_buckets_the_spec_lacks_are_left_out() -> None:
    built = build({"data-scientist": [SCIENTIST]}, buckets=("datasets", "models"))
    assert not any(scope.endswith("/artifacts") for _, scope in built.grants(SCIENTIST))


def test_no_personas_grant_nothing_to_people() -> None:
    built = build({}, registry=False)
    assert built.counts() == {IDENTITY: 1, FEDERATED: 1, ROLE: 2}
    assert built.outputs["persona_roles"] == {}


READER_PRINCIPAL = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
DEPLOYER = "8e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7"
OPERATOR = "9f3a4b5c-6d7e-4f80-91a2-b3c4d5e6f708"


def test_the_reader_template_reads_data_models_images_and_logs_and_writes_nothing() -> None:
    built = build({"auditor": [READER_PRINCIPAL]}, custom={"auditor": {"access": "read"}})
    assert built.grants(READER_PRINCIPAL) == {
        (READER.guid, ML_ID), (READER.guid, ML_REGISTRY_ID), (BLOB_READER.guid, ACCOUNT_ID),
        (ACR_PULL.guid, ACR_ID), (LOG_ANALYTICS_READER.guid, WORKSPACE_ID),
    }
    assert {role for role, _ in PERSONA_ROLES["reader"]}.isdisjoint(
        {BLOB_CONTRIBUTOR, ACR_PUSH, ML_DATA_SCIENTIST, AKS_RBAC_WRITER, AKS_RBAC_ADMIN})


@pytest.mark.parametrize(("access", "template"), [("read", "reader"), ("deploy", "ci-deployer"), ("admin", "platform-admin")])
def test_a_custom_persona_gets_the_grants_of_its_access_levels_template(access: str, template: str) -> None:
    custom = build({"operators": [OPERATOR]}, custom={"operators": {"access": access}})
    built_in = build({template: [OPERATOR]}) if template != "reader" else None
    if built_in is not None:
        assert custom.grants(OPERATOR) == built_in.grants(OPERATOR)
    names = [r.name for r in of_type(custom.records, ROLE) if r.inputs["principalId"] == OPERATOR]
    assert names and all(n.startswith("fraud-dev-operators-") for n in names)
    assert list(custom.outputs["persona_roles"]) == ["operators"]


def test_built_in_persona_resource_names_are_unchanged(full: Built) -> None:
    names = {r.name for r in of_type(full.records, ROLE)}
    assert "fraud-dev-data-scientist-" + naming.short_hash(SCIENTIST) + "-blob-reader-storage" in names


def test_per_cloud_principals_use_only_the_azure_list() -> None:
    built = build({"ci-deployer": {"azure": [DEPLOYER], "aws": ["arn:aws:iam::123456789012:role/ci"],
                                   "gcp": ["serviceAccount:ci@p.iam.gserviceaccount.com"]}})
    principals = {r.inputs["principalId"] for r in of_type(built.records, ROLE)} - {None}
    assert DEPLOYER in principals
    assert not any(str(p).startswith(("arn:", "serviceAccount:")) for p in principals)
    assert built.grants(DEPLOYER)


def test_the_policy_pack_finds_nothing_mandatory(full: Built) -> None:
    report = check_source(Source("test", "mlfabric", "dev", "azure", "", full.records))
    assert [f"{v.rule_id}: {v.message}" for v in report.violations if v.mandatory] == []
