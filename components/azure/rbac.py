"""RBAC on Azure: personas become built-in role assignments for Entra principals, scoped to the
platform's resources; training pods get a user-assigned identity through workload identity.

Creates, per persona principal (an Entra object id: user, group or service principal) and per role
of the persona's row in ``PERSONA_ROLES`` whose target exists, one ``authorization:RoleAssignment``
of a built-in role (by its GUID, the same in every tenant) at that resource's scope: the Azure ML
workspace and model registry, the storage account or one of its containers, the container
registry, the AKS cluster. Never Owner, Contributor or User Access Administrator, never the resource
group or subscription.

With a training cluster: a ``managedidentity:UserAssignedIdentity`` ``id-<platform>-<env>-training``,
a ``managedidentity:FederatedIdentityCredential`` trusting the cluster's OIDC issuer for service
account ``ml-training/training`` only, and role assignments for it: read the ``datasets``
container, write the ``artifacts`` container. Pods use it by running as that service account,
annotated ``azure.workload.identity/client-id: <workload_identity>`` and labelled
``azure.workload.identity/use: "true"``.

Every grant is data, in ``PERSONA_ROLES``, like the AWS capability table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import pulumi
from pulumi_azure_native import authorization, managedidentity

from mlfabric.components import naming
from mlfabric.components.azure.common import ClusterScopes, RegistryScopes, role_definition_id, storage_account_id
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.concerns import RbacOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import RbacSpec, Template

TRAINING_NAMESPACE: Final = "ml-training"
TRAINING_SERVICE_ACCOUNT: Final = "training"
TOKEN_EXCHANGE_AUDIENCE: Final = "api://AzureADTokenExchange"
DATASETS_BUCKET: Final = "datasets"
ARTIFACTS_BUCKET: Final = "artifacts"
MODELS_BUCKET: Final = "models"


@dataclass(frozen=True)
class Role:
    """A built-in role definition."""

    name: str
    guid: str
    slug: str


ML_DATA_SCIENTIST: Final = Role("AzureML Data Scientist", "f6c7c914-8db3-469d-8ca1-694a8461e5f0", "ml-data-scientist")
ML_REGISTRY_USER: Final = Role("AzureML Registry User", "1823dd4f-9b8c-4ab6-ab4e-7397a3684615", "ml-registry-user")
BLOB_READER: Final = Role("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "blob-reader")
BLOB_CONTRIBUTOR: Final = Role("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "blob-contributor")
ACR_PULL: Final = Role("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d", "acr-pull")
ACR_PUSH: Final = Role("AcrPush", "8311e382-0749-4cb8-b81a-b7c0b2a5d9b8", "acr-push")
AKS_RBAC_READER: Final = Role("Azure Kubernetes Service RBAC Reader", "7f6c6a51-bcf8-42ba-9220-52d62157d7db", "aks-reader")
AKS_RBAC_WRITER: Final = Role("Azure Kubernetes Service RBAC Writer", "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb", "aks-writer")
AKS_RBAC_ADMIN: Final = Role("Azure Kubernetes Service RBAC Admin", "3498e952-d568-435e-9b2c-8d77e338d7f7", "aks-admin")
# Lets a principal fetch the cluster's user kubeconfig (what it may do inside comes from the RBAC roles).
AKS_CLUSTER_USER: Final = Role("Azure Kubernetes Service Cluster User Role", "4abbcc35-e782-43d8-92c5-2d3f1bd2253f", "aks-user")
# Read-only control plane (what exists, its settings; never keys or data): the reader's view of the ML
# workspace (runs, models, endpoints) and the model registry.
READER: Final = Role("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "reader")
LOG_ANALYTICS_READER: Final = Role("Log Analytics Reader", "73c42c96-874c-492b-b04d-ab87d138a893", "log-reader")

# Roles mlfabric never assigns (Owner, Contributor, User Access Administrator, RBAC Administrator).
FORBIDDEN_ROLE_GUIDS: Final = frozenset({
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
})

# Where a role is granted: a platform resource, or one storage container (bucket).
Target = Literal["ml-workspace", "ml-registry", "storage", "container-registry", "cluster", "logs"] | tuple[str, str]

# Grants per template: each built-in persona is its own template; custom personas take the template
# of their access level (read -> reader, deploy -> ci-deployer, admin -> platform-admin).
PERSONA_ROLES: Final[dict[Template, tuple[tuple[Role, Target], ...]]] = {
    "data-scientist": (
        (ML_DATA_SCIENTIST, "ml-workspace"), (ML_REGISTRY_USER, "ml-registry"),
        (BLOB_READER, "storage"), (BLOB_CONTRIBUTOR, ("bucket", ARTIFACTS_BUCKET)),
        (ACR_PULL, "container-registry"), (AKS_CLUSTER_USER, "cluster"), (AKS_RBAC_READER, "cluster"),
    ),
    "ml-engineer": (
        (ML_DATA_SCIENTIST, "ml-workspace"), (ML_REGISTRY_USER, "ml-registry"),
        (BLOB_CONTRIBUTOR, "storage"),
        (ACR_PUSH, "container-registry"), (AKS_CLUSTER_USER, "cluster"), (AKS_RBAC_WRITER, "cluster"),
    ),
    "ci-deployer": (
        (ML_DATA_SCIENTIST, "ml-workspace"), (ML_REGISTRY_USER, "ml-registry"),
        (BLOB_READER, "storage"), (BLOB_CONTRIBUTOR, ("bucket", MODELS_BUCKET)),
        (BLOB_CONTRIBUTOR, ("bucket", ARTIFACTS_BUCKET)),
        (ACR_PUSH, "container-registry"), (AKS_CLUSTER_USER, "cluster"), (AKS_RBAC_WRITER, "cluster"),
    ),
    "platform-admin": (
        (ML_DATA_SCIENTIST, "ml-workspace"), (ML_REGISTRY_USER, "ml-registry"),
        (BLOB_CONTRIBUTOR, "storage"),
        (ACR_PUSH, "container-registry"), (AKS_CLUSTER_USER, "cluster"), (AKS_RBAC_ADMIN, "cluster"),
    ),
    # Read data, models, images and logs; no write, no deploy, nothing inside the cluster.
    "reader": (
        (READER, "ml-workspace"), (READER, "ml-registry"),
        (BLOB_READER, "storage"),
        (ACR_PULL, "container-registry"), (LOG_ANALYTICS_READER, "logs"),
    ),
}
WORKLOAD_ROLES: Final[tuple[tuple[Role, Target], ...]] = (
    (BLOB_READER, ("bucket", DATASETS_BUCKET)),
    (BLOB_CONTRIBUTOR, ("bucket", ARTIFACTS_BUCKET)),
)

if any(role.guid in FORBIDDEN_ROLE_GUIDS for grants in PERSONA_ROLES.values() for role, _ in grants):  # pragma: no cover
    raise RuntimeError("PERSONA_ROLES grants a forbidden role")


def _slug(target: Target) -> str:
    return target if isinstance(target, str) else f"{target[0]}-{target[1]}"


class AzureRbac(RbacOutputs):
    """Built-in role assignments per persona principal; a federated identity for training pods."""

    type_token = "mlfabric:rbac:AzureRbac"
    needs = ("storage", "registry", "cluster", "serving")

    def __init__(
        self,
        name: str,
        spec: RbacSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._subscription: pulumi.Output[str] = client.subscription_id
        self._scopes = self._targets()

        granted: dict[str, list[str]] = {}
        # Resource names carry the persona's name (a built-in's names are unchanged: deployed URNs
        # survive), whatever template it takes; only this cloud's principals are used.
        for grant in spec.grants("azure"):
            persona = grant.persona
            roles = [(role, target) for role, target in PERSONA_ROLES[grant.template] if self._scope(target) is not None]
            granted[persona] = sorted({role.name for role, _ in roles})
            for principal in grant.principals:
                for role, target in roles:
                    self._assign(
                        f"{name}-{persona}-{naming.short_hash(principal)}-{role.slug}-{_slug(target)}",
                        principal, None, role, target, f"the {persona} persona",
                    )

        workload = self._workload_identity() if isinstance(ctx.cluster, ClusterScopes) else None
        self.persona_roles = pulumi.Output.from_input({p: ", ".join(r) for p, r in granted.items()})
        self.workload_identity = workload.client_id if workload is not None else pulumi.Output.from_input("")
        self.register_contract()

    def _targets(self) -> dict[str, pulumi.Output[str]]:
        ctx = self._ctx
        found: dict[str, pulumi.Output[str]] = {}
        if isinstance(ctx.registry, RegistryScopes):
            found["ml-workspace"] = ctx.registry.ml_workspace_id
            found["ml-registry"] = ctx.registry.ml_registry_id
            found["container-registry"] = ctx.registry.container_registry_id
        if isinstance(ctx.cluster, ClusterScopes):
            found["cluster"] = ctx.cluster.cluster_id
        if ctx.storage is not None:
            found["storage"] = ctx.storage.bucket_ids.apply(storage_account_id)
        if ctx.prerequisites is not None:
            found["logs"] = prerequisites_of(ctx).log_workspace_id
        return found

    def _scope(self, target: Target) -> pulumi.Output[str] | None:
        if isinstance(target, str):
            return self._scopes.get(target)
        storage = self._ctx.storage
        bucket = target[1]
        if storage is None or bucket not in self._bucket_names():
            return None
        return storage.bucket_ids.apply(lambda ids: ids[bucket])

    def _bucket_names(self) -> set[str]:
        # Whether a grant exists is decided now, but the storage handle only holds outputs: the bucket
        # names come from the spec's storage section; without a spec, the default buckets.
        if self._ctx.spec is None:
            return {DATASETS_BUCKET, ARTIFACTS_BUCKET, MODELS_BUCKET}
        return {bucket.name for bucket in self._ctx.spec.storage.buckets}

    def _assign(
        self,
        logical: str,
        principal: pulumi.Input[str],
        principal_type: str | None,
        role: Role,
        target: Target,
        why: str,
    ) -> authorization.RoleAssignment:
        scope = self._scope(target)
        assert scope is not None
        return authorization.RoleAssignment(
            logical,
            principal_id=principal,
            # Persona principals may be users, groups or service principals: the type is left out so
            # Azure looks it up (the SDK would otherwise send its default, User, which Azure refuses
            # with UnmatchedPrincipalType for a group or a service principal).
            principal_type=principal_type if principal_type is not None else pulumi.Output.from_input(None),
            role_definition_id=role_definition_id(self._subscription, role.guid),
            scope=scope,
            description=f"mlfabric {self._ctx.base_name}: {role.name} for {why}",
            opts=self._child,
        )

    def _workload_identity(self) -> managedidentity.UserAssignedIdentity:
        ctx, name = self._ctx, self._name
        assert isinstance(ctx.cluster, ClusterScopes)
        group = prerequisites_of(ctx).resource_group_name
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-training",
            resource_name_=f"id-{ctx.base_name}-training",
            resource_group_name=group,
            location=ctx.region,
            tags=ctx.tags({"mlfabric-workload": "training"}),
            opts=self._child,
        )
        managedidentity.FederatedIdentityCredential(
            f"{name}-training",
            federated_identity_credential_resource_name=f"{ctx.base_name}-{TRAINING_NAMESPACE}-{TRAINING_SERVICE_ACCOUNT}",
            resource_name_=identity.name,
            resource_group_name=group,
            issuer=ctx.cluster.oidc_issuer_url,
            subject=f"system:serviceaccount:{TRAINING_NAMESPACE}:{TRAINING_SERVICE_ACCOUNT}",
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=self._child,
        )
        for role, target in WORKLOAD_ROLES:
            if self._scope(target) is not None:
                self._assign(
                    f"{name}-training-{role.slug}-{_slug(target)}",
                    identity.principal_id, "ServicePrincipal", role, target, "training pods",
                )
        return identity
