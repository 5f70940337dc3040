"""Notebooks on Azure: Azure ML compute instances in the platform's workspace, one per user.

An Azure ML compute instance has exactly one user (its assigned user; nobody else may open its
Jupyter or VS Code). So a notebook environment (a team of ``notebooks.teams``, or ``platform``
without teams) is one compute instance per principal of that environment whose persona writes code
(data scientist, ML engineer: ``spec_rules.notebook_users``). Creates, per such user:

- ``machinelearningservices:Compute`` ``ci-<environment>-<hash>`` of type ``ComputeInstance``:
  ``notebooks.machine`` (default ``Standard_DS3_v2``), stopped after ``idle_minutes`` without
  activity (``idleTimeBeforeShutdown``, ISO 8601), no public IP (``enableNodePublicIp: false``) and
  the public SSH port closed, local (key) auth off, a personal instance assigned to the user only, and
  running as the environment's user-assigned identity: the team's identity (``teams.py``: its
  storage prefix, AcrPull), or without teams ``id-<platform>-<env>-notebooks``.

Without teams, also that identity and its two role assignments: Storage Blob Data Reader on the
``datasets`` container and Storage Blob Data Contributor on ``artifacts`` (the training workload's
grants).

No subnet is given: the workspace has a managed virtual network in every environment (``registry.py``),
and "managed compute resources you create for the workspace automatically use this managed virtual
network" (learn.microsoft.com/azure/machine-learning/how-to-managed-network), with its outbound rules
and private endpoints to the platform's storage, vault and registries. Users reach an instance
through the workspace (Azure ML studio or VS Code) with Entra ID; in prod the workspace is reachable
only through its private endpoint.

What a plan cannot prove: that Azure accepts each principal as a user (a group's object id is
refused at deploy: a compute instance is assigned to a user), that idle shutdown fires, or that the
identity's token reaches storage from inside the managed network.
"""

from __future__ import annotations

import functools
from typing import Final

import pulumi
from pulumi_azure_native import authorization, managedidentity
from pulumi_azure_native import machinelearningservices as aml

from mlfabric.components import naming
from mlfabric.components.azure.common import TeamIdentities, WorkspaceScopes, output_mapping, role_definition_id
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.azure.rbac import WORKLOAD_ROLES
from mlfabric.components.azure.spec_rules import PLATFORM_ENVIRONMENT, notebook_users
from mlfabric.components.concerns import NotebooksOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import NotebooksSpec

# The VM size of a notebook when the spec names none: a small general-purpose size (4 vCPU, 14 GiB),
# the one serving's CPU endpoints use, priced in components/azure/prices.json.
DEFAULT_MACHINE: Final = "Standard_DS3_v2"
NOTEBOOK_TAG: Final = "mlfabric-notebook"
# Compute names: 3-24 letters, digits and hyphens, starting with a letter, unique in the region.
_MAX_COMPUTE_NAME: Final = 24


def compute_name(base_name: str, environment: str, principal: str) -> str:
    """``ci-<environment>-<hash>``: at most 24 characters, the hash (of platform, environment and user)
    keeping it unique in the region, where compute instance names must be unique."""
    suffix = naming.short_hash(base_name, environment, principal, length=8)
    head = environment[: _MAX_COMPUTE_NAME - len(suffix) - 4].rstrip("-")
    return f"ci-{head}-{suffix}"


def idle_shutdown(minutes: int) -> str:
    """``idleTimeBeforeShutdown`` in ISO 8601 (Azure takes 15 minutes to 3 days; the spec 15 to 1440)."""
    return f"PT{minutes}M"


def _bucket_id(bucket: str, ids: dict[str, str]) -> str:
    return ids[bucket]


class AzureNotebooks(NotebooksOutputs):
    """A personal Azure ML compute instance per notebook user, idle-stopped, without a public IP."""

    type_token = "mlfabric:notebooks:AzureNotebooks"
    needs = ("storage", "registry", "teams")

    def __init__(
        self,
        name: str,
        spec: NotebooksSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(ctx.registry, WorkspaceScopes) or ctx.spec is None:
            raise pulumi.RunError("notebooks: Azure ML compute instances live in the platform's ML workspace")
        super().__init__(name, spec, ctx, opts)
        self._workspace: WorkspaceScopes = ctx.registry
        self._group: pulumi.Output[str] = prerequisites_of(ctx).resource_group_name
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._subscription: pulumi.Output[str] = client.subscription_id
        self._tenant: pulumi.Output[str] = client.tenant_id
        teams = ctx.teams.identity_ids if isinstance(ctx.teams, TeamIdentities) else {}

        found: dict[str, pulumi.Output[str]] = {}
        for environment, users in notebook_users(ctx.spec).items():
            identity = teams.get(environment)
            if identity is None:
                identity = self._platform_identity()
            for principal in users:
                compute = self._instance(environment, principal, identity)
                found[f"{environment}/{principal}"] = compute.id
        self.notebooks = output_mapping(found)
        self.register_contract()

    def _instance(self, environment: str, principal: str, identity: pulumi.Input[str]) -> aml.Compute:
        ctx, spec = self._ctx, self._spec
        physical = compute_name(ctx.base_name, environment, principal)
        return aml.Compute(
            f"{self._name}-{environment}-{naming.short_hash(principal)}",
            compute_name=physical,
            workspace_name=self._workspace.ml_workspace_name,
            resource_group_name=self._group,
            location=ctx.region,
            identity=aml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[identity]),
            properties=aml.ComputeInstanceArgs(
                compute_type="ComputeInstance",
                description=f"mlfabric {ctx.base_name}: notebook of {principal} in {environment}",
                # Entra ID only: no keys to leak.
                disable_local_auth=True,
                properties=aml.ComputeInstancePropertiesArgs(
                    vm_size=spec.machine or DEFAULT_MACHINE,
                    idle_time_before_shutdown=idle_shutdown(spec.idle_minutes),
                    enable_node_public_ip=False,
                    ssh_settings=aml.ComputeInstanceSshSettingsArgs(ssh_public_access="Disabled"),
                    application_sharing_policy="Personal",
                    compute_instance_authorization_type="personal",
                    personal_compute_instance_settings=aml.PersonalComputeInstanceSettingsArgs(
                        assigned_user=aml.AssignedUserArgs(object_id=principal, tenant_id=self._tenant)
                    ),
                ),
            ),
            tags=ctx.tags({NOTEBOOK_TAG: environment}),
            opts=self._child,
        )

    def _platform_identity(self) -> pulumi.Output[str]:
        """Without teams: ``id-<platform>-<env>-notebooks``, with the training workload's blob grants."""
        ctx, name = self._ctx, self._name
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-{PLATFORM_ENVIRONMENT}",
            resource_name_=f"id-{ctx.base_name}-notebooks",
            resource_group_name=self._group,
            location=ctx.region,
            tags=ctx.tags({NOTEBOOK_TAG: PLATFORM_ENVIRONMENT}),
            opts=self._child,
        )
        buckets = {b.name for b in ctx.spec.storage.buckets} if ctx.spec is not None else set()
        for role, target in WORKLOAD_ROLES:
            if ctx.storage is None or isinstance(target, str) or target[1] not in buckets:
                continue
            bucket: str = target[1]
            scope = ctx.storage.bucket_ids.apply(functools.partial(_bucket_id, bucket))
            authorization.RoleAssignment(
                f"{name}-{PLATFORM_ENVIRONMENT}-{role.slug}-{bucket}",
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                role_definition_id=role_definition_id(self._subscription, role.guid),
                scope=scope,
                description=f"mlfabric {ctx.base_name}: {role.name} for notebooks",
                opts=self._child,
            )
        return identity.id
