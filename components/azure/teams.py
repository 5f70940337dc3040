"""Teams on Azure: per team a workload identity scoped to the team's storage prefix, Kubernetes
access for its members through Azure RBAC, and the objects every cloud's team gets in the cluster.

Creates, per team of the spec's ``teams`` section (in the platform's resource group):

- ``managedidentity:UserAssignedIdentity`` ``id-<platform>-<env>-team-<team>``, tagged
  ``mlfabric-team: <team>``, and a ``managedidentity:FederatedIdentityCredential`` trusting the AKS
  OIDC issuer for the service account ``team-<team>/<team>`` only (audience
  ``api://AzureADTokenExchange``): the team's jobs run as that service account, annotated
  ``azure.workload.identity/client-id: <client id>``; their pods opt in with the label
  ``azure.workload.identity/use: "true"``;
- ``authorization:RoleAssignment`` "Storage Blob Data Contributor" on the platform's storage
  account with an ABAC condition (version 2.0, ``prefix_condition``): reading, writing, adding to
  and deleting blobs only under the team's prefix in every container, listing only with a prefix
  under it;
- "AcrPull" on the platform's container registry;
- per member principal: "Azure Kubernetes Service Cluster User Role" on the cluster (fetching the
  kubeconfig) and the Azure RBAC for Kubernetes role of the persona's access level (view: "RBAC
  Reader", edit: "RBAC Writer", admin: "RBAC Admin") scoped to the namespace,
  ``<cluster id>/namespaces/team-<team>``: the cluster authorises with Azure RBAC (``enableAzureRBAC``),
  so no Kubernetes RoleBinding is needed;
- in the cluster, through its Kubernetes provider, after Kueue is installed: the namespace, service
  account, GPU ResourceQuota, ClusterQueue in the platform's cohort, LocalQueue and, with a shared
  file system, the ``shared-data`` PersistentVolume and claim (``kubernetes.teams.team_objects``).

What a plan cannot prove: that Azure evaluates the condition as written (ABAC conditions are checked
by the storage data plane), that the federated credential's token exchange succeeds, or that Kueue
admits a JobSet all-or-nothing; those need a real subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pulumi
from pulumi_azure_native import authorization, managedidentity

from mlfabric.components import naming
from mlfabric.components.azure.common import (
    RegistryHandles,
    TeamCluster,
    role_definition_id,
    storage_account_id,
)
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.azure.rbac import (
    ACR_PULL,
    AKS_CLUSTER_USER,
    AKS_RBAC_ADMIN,
    AKS_RBAC_READER,
    AKS_RBAC_WRITER,
    BLOB_CONTRIBUTOR,
    TOKEN_EXCHANGE_AUDIENCE,
    Role,
)
from mlfabric.components.concerns import TeamsOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.kubernetes.teams import NamespaceRole, TeamIdentity, namespace_role, team_objects
from mlfabric.components.spec import PlatformSpec, TeamSpec, team_members

CLIENT_ID_ANNOTATION: Final = "azure.workload.identity/client-id"
TEAM_TAG: Final = "mlfabric-team"
CONDITION_VERSION: Final = "2.0"
NAMESPACE_ROLES: Final[dict[NamespaceRole, Role]] = {
    "view": AKS_RBAC_READER, "edit": AKS_RBAC_WRITER, "admin": AKS_RBAC_ADMIN,
}
_BLOBS: Final = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
# Storage Blob Data Contributor's data actions that name one blob (its path): each is allowed only
# under the prefix. Listing is a read sub-operation that names a prefix instead of a blob.
_PATH_ACTIONS: Final = ("write", "add/action", "delete")


def prefix_condition(prefix: str) -> str:
    """The ABAC condition that limits Storage Blob Data Contributor to blobs under ``prefix``.

    The form of Microsoft's "read or list blobs in named containers with a path" and "write blobs
    with a path" examples (learn.microsoft.com/azure/storage/blobs/storage-auth-abac-examples),
    without the container clause: the prefix applies in every platform container."""
    others = "".join(f"\n  AND\n  !(ActionMatches{{'{_BLOBS}/{action}'}})" for action in _PATH_ACTIONS)
    return (
        "(\n (\n"
        f"  !(ActionMatches{{'{_BLOBS}/read'}} AND NOT SubOperationMatches{{'Blob.List'}}){others}\n"
        " )\n OR\n (\n"
        f"  @Resource[{_BLOBS}:path] StringStartsWith '{prefix}'\n"
        " )\n)\nAND\n(\n (\n"
        f"  !(ActionMatches{{'{_BLOBS}/read'}} AND SubOperationMatches{{'Blob.List'}})\n"
        " )\n OR\n (\n"
        f"  @Request[{_BLOBS}:prefix] StringStartsWith '{prefix}'\n"
        " )\n)"
    )


def service_account_subject(team: TeamSpec) -> str:
    """The only token subject the team's identity trusts: its service account in its namespace."""
    return f"system:serviceaccount:{team.namespace}:{team.name}"


class AzureTeams(TeamsOutputs):
    """A workload identity, Azure RBAC member access and queues per team."""

    type_token = "mlfabric:teams:AzureTeams"

    # Azure only: team name -> its user-assigned identity's resource id (what notebooks run as).
    identity_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        spec: list[TeamSpec],
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(ctx.cluster, TeamCluster) or ctx.spec is None:
            raise pulumi.RunError("teams: need the platform spec and the AKS cluster (AzureTrainingCluster)")
        super().__init__(name, spec, ctx, opts)
        self._cluster: TeamCluster = ctx.cluster
        self._platform: PlatformSpec = ctx.spec
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._subscription: pulumi.Output[str] = client.subscription_id
        self._group: pulumi.Output[str] = prerequisites_of(ctx).resource_group_name
        storage = ctx.storage.bucket_ids.apply(storage_account_id) if ctx.storage is not None else None
        registry = ctx.registry.container_registry_id if isinstance(ctx.registry, RegistryHandles) else None
        inside = pulumi.ResourceOptions(
            parent=self, provider=self._cluster.kubernetes_provider, depends_on=list(self._cluster.queueing.ready)
        )

        found: dict[str, pulumi.Output[dict[str, str]]] = {}
        self.identity_ids = {}
        for team in spec:
            identity = self._identity(team)
            self.identity_ids[team.name] = identity.id
            if storage is not None:
                self._assign(f"{name}-{team.name}-{BLOB_CONTRIBUTOR.slug}", identity.principal_id, "ServicePrincipal",
                             BLOB_CONTRIBUTOR, storage, f"team {team.name}'s jobs, under {team.prefix} only",
                             condition=prefix_condition(team.prefix))
            if registry is not None:
                self._assign(f"{name}-{team.name}-{ACR_PULL.slug}", identity.principal_id, "ServicePrincipal",
                             ACR_PULL, registry, f"team {team.name}'s jobs pull the platform's images")
            self._members(team)
            objects = team_objects(
                name, self._platform, team,
                TeamIdentity(identity=identity.client_id, annotations={CLIENT_ID_ANNOTATION: identity.client_id}),
                members={},  # Azure RBAC role assignments at namespace scope (above), not RoleBindings
                opts=inside, shared=self._cluster.shared_volume,
            )
            # The names are the spec's; the identity's client id is known once it exists.
            found[team.name] = pulumi.Output.all(identity.client_id, objects.local_queue.id).apply(
                lambda args, team=team: {
                    "namespace": team.namespace, "queue": team.name, "service_account": team.name,
                    "identity": args[0], "storage_prefix": team.prefix,
                })
        self.teams = pulumi.Output.all(**found) if found else pulumi.Output.from_input({})
        self.register_contract()

    def _identity(self, team: TeamSpec) -> managedidentity.UserAssignedIdentity:
        ctx, name = self._ctx, self._name
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-{team.name}",
            resource_name_=f"id-{ctx.base_name}-team-{team.name}",
            resource_group_name=self._group,
            location=ctx.region,
            tags=ctx.tags({TEAM_TAG: team.name}),
            opts=self._child,
        )
        managedidentity.FederatedIdentityCredential(
            f"{name}-{team.name}",
            federated_identity_credential_resource_name=f"{ctx.base_name}-{team.namespace}-{team.name}",
            resource_name_=identity.name,
            resource_group_name=self._group,
            issuer=self._cluster.oidc_issuer_url,
            subject=service_account_subject(team),
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=self._child,
        )
        return identity

    def _members(self, team: TeamSpec) -> None:
        """Cluster User on the cluster and the persona's AKS RBAC role on the team's namespace."""
        cluster_id = self._cluster.cluster_id
        namespace_scope = cluster_id.apply(lambda cid: f"{cid}/namespaces/{team.namespace}")
        users: set[str] = set()
        for member in team_members([team], "azure"):
            role = NAMESPACE_ROLES[namespace_role(self._platform, member.persona)]
            for principal in member.principals:
                tag = naming.short_hash(principal)
                self._assign(f"{self._name}-{team.name}-{member.persona}-{tag}-{role.slug}", principal, None, role,
                             namespace_scope, f"the {member.persona} persona of team {team.name}")
                if principal not in users:
                    users.add(principal)
                    self._assign(f"{self._name}-{team.name}-{tag}-{AKS_CLUSTER_USER.slug}", principal, None,
                                 AKS_CLUSTER_USER, cluster_id, f"a member of team {team.name} fetches the kubeconfig")

    def _assign(
        self,
        logical: str,
        principal: pulumi.Input[str],
        principal_type: str | None,
        role: Role,
        scope: pulumi.Input[str],
        why: str,
        condition: str | None = None,
    ) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            logical,
            principal_id=principal,
            # Members may be users, groups or service principals: the type is left out so Azure looks
            # it up; a team's identity is a service principal (skips a lookup it may not pass yet).
            principal_type=principal_type if principal_type is not None else pulumi.Output.from_input(None),
            role_definition_id=role_definition_id(self._subscription, role.guid),
            scope=scope,
            condition=condition,
            condition_version=CONDITION_VERSION if condition is not None else None,
            description=f"mlfabric {self._ctx.base_name}: {role.name} for {why}",
            opts=self._child,
        )


__all__: Sequence[str] = ["AzureTeams", "prefix_condition", "service_account_subject"]
