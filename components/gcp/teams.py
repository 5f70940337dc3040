"""Teams on GCP: per team a Google service account its jobs run as, scoped to the team's prefix of
the platform buckets, and its namespace, queues and member access in the training cluster.

Creates, per team of ``teams`` (children of the ``mlfabric:teams:GcpTeams`` component):

- ``gcp:serviceaccount/account:Account`` ``<platform>-<environment>-<team>`` (hashed to GCP's 30
  characters when longer), the identity the team's jobs run as (``identity`` output: its email);
- ``gcp:serviceaccount/iAMMember:IAMMember``: ``roles/iam.workloadIdentityUser`` for exactly
  ``serviceAccount:<project>.svc.id.goog[team-<team>/<team>]`` — only the team's Kubernetes service
  account, in its namespace, may act as it (GKE Workload Identity);
- per platform bucket a ``gcp:storage/managedFolder:ManagedFolder`` named after the team's prefix
  (``teams/<team>/`` unless ``storage_prefix`` says otherwise) and a
  ``gcp:storage/managedFolderIamMember:ManagedFolderIamMember`` granting the service account
  ``roles/storage.objectUser`` on it. Why managed folders and not IAM conditions: a bucket-level grant
  conditioned on ``resource.name.startsWith(...)`` limits reads and writes of objects, but listing is
  checked against the bucket, so it either lists the whole bucket or nothing; a managed folder's IAM
  policy applies to the objects under its path, listing included
  (https://cloud.google.com/storage/docs/managed-folders), and needs uniform bucket-level access,
  which every platform bucket has. The folders are kept on destroy in prod (the objects stay either way);
- per platform repository a ``gcp:artifactregistry/repositoryIamMember:RepositoryIamMember``:
  ``roles/artifactregistry.reader`` (the nodes already pull; this lets jobs read images and metadata);
- per team member principal a project ``gcp:projects/iAMMember:IAMMember`` with
  ``roles/container.clusterViewer`` (fetch the cluster's credentials, nothing in it: Kubernetes RBAC
  decides what they may do, in their namespace only);
- in the cluster (``mlfabric.components.kubernetes.teams``): namespace ``team-<team>``, the
  ServiceAccount ``<team>`` annotated ``iam.gke.io/gcp-service-account: <email>`` and labelled
  ``mlfabric-team: <team>`` (GKE cost allocation reports namespaces and labels), a GPU
  ResourceQuota, the ClusterQueue and LocalQueue ``<team>``, RoleBindings of the members (``user:``
  and ``serviceAccount:`` principals as Kubernetes users named by their email; ``group:`` principals
  as Kubernetes groups, through Google Groups for RBAC, which the cluster enables for the groups'
  domain), and with ``training.shared_fs`` a PersistentVolume of the Filestore share and the
  ``shared-data`` claim.

``teams`` output: team -> {namespace, queue, service_account, identity (the Google service account's
email), storage_prefix}.

What the spec cannot make happen: a ``group:`` member is a Kubernetes subject only once the group is a
member of ``gke-security-groups@<domain>`` (a Workspace / Cloud Identity step).
"""

from __future__ import annotations

import functools
from typing import Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components import naming
from mlfabric.components.concerns import TeamsOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import account_id, cluster_of, project_id, repositories_of
from mlfabric.components.kubernetes.teams import NamespaceRole, Subject, TeamIdentity, namespace_role, team_objects
from mlfabric.components.spec import PlatformSpec, TeamSpec, team_members

WORKLOAD_IDENTITY_USER: Final = "roles/iam.workloadIdentityUser"
OBJECT_USER: Final = "roles/storage.objectUser"
REGISTRY_READER: Final = "roles/artifactregistry.reader"
CLUSTER_VIEWER: Final = "roles/container.clusterViewer"
WORKLOAD_IDENTITY_ANNOTATION: Final = "iam.gke.io/gcp-service-account"
TEAM_LABEL: Final = "mlfabric-team"


def workload_member(project: str, team: TeamSpec) -> str:
    """The Workload Identity principal of the team's Kubernetes service account (and no other)."""
    return f"serviceAccount:{project}.svc.id.goog[{team.namespace}/{team.name}]"


def subject(principal: str) -> Subject | None:
    """The Kubernetes RBAC subject GKE authenticates a principal as (None: ``domain:``, refused by the
    spec rules)."""
    kind, _, email = principal.partition(":")
    if kind in ("user", "serviceAccount"):
        return Subject("User", email)
    if kind == "group":
        return Subject("Group", email)
    return None


def team_output(team: TeamSpec, identity: str) -> dict[str, str]:
    """One team's entry of the ``teams`` output."""
    return {"namespace": team.namespace, "queue": team.name, "service_account": team.name,
            "identity": identity, "storage_prefix": team.prefix}


def _entry(team: TeamSpec, args: list[str]) -> dict[str, str]:
    return team_output(team, args[2])


def _bucket(name: str, names: dict[str, str]) -> str:
    return names[name]


class GcpTeams(TeamsOutputs):
    """Per team: a Google service account scoped to its prefix, and its namespace and queues in GKE."""

    type_token = "mlfabric:teams:GcpTeams"

    def __init__(self, name: str, spec: list[TeamSpec], ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, spec, ctx, opts)
        cluster = cluster_of(ctx.cluster)
        self._project = project_id(ctx, self)
        in_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes,
                                            depends_on=list(cluster.queueing.ready))
        self._viewers()
        outputs: dict[str, pulumi.Output[dict[str, str]]] = {}
        for team in spec:
            account = self._identity(team)
            objects = team_objects(
                name, self._platform, team,
                TeamIdentity(identity=account.email,
                             annotations={WORKLOAD_IDENTITY_ANNOTATION: account.email},
                             labels={TEAM_LABEL: team.name}),
                self._members(team), in_cluster, shared=cluster.shared_volume,
            )
            # Resolved once the namespace, the queue and the account exist.
            outputs[team.name] = pulumi.Output.all(
                objects.namespace.id, objects.local_queue.id, account.email,
            ).apply(functools.partial(_entry, team))
        self.teams = pulumi.Output.all(**outputs) if outputs else pulumi.Output.from_input({})
        self.register_contract()

    @property
    def _platform(self) -> PlatformSpec:
        assert self._ctx.spec is not None, "GcpTeams needs the platform spec (ctx.spec)"
        return self._ctx.spec

    def _identity(self, team: TeamSpec) -> gcp.serviceaccount.Account:
        name, ctx = f"{self._name}-{team.name}", self._ctx
        account = gcp.serviceaccount.Account(
            name,
            account_id=account_id(ctx.base_name, team.name),
            display_name=f"mlfabric {ctx.base_name}: team {team.name}",
            description=f"Jobs of team {team.name} (namespace {team.namespace}): its prefix {team.prefix} of the "
                        "platform buckets, pulls from the platform registry.",
            project=ctx.account,
            opts=self._child,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity",
            service_account_id=account.name,
            role=WORKLOAD_IDENTITY_USER,
            member=self._project.apply(lambda project: workload_member(project, team)),
            opts=self._child,
        )
        self._prefix_access(name, team, account)
        for repository, repository_id in repositories_of(ctx.registry).items():
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-pull-{repository}",
                project=ctx.account,
                location=ctx.region,
                repository=repository_id,
                role=REGISTRY_READER,
                member=account.member,
                opts=self._child,
            )
        return account

    def _prefix_access(self, name: str, team: TeamSpec, account: gcp.serviceaccount.Account) -> None:
        """A managed folder at the team's prefix in every platform bucket, and object access on it only."""
        ctx = self._ctx
        if ctx.storage is None or ctx.spec is None:
            return
        for bucket in ctx.spec.storage.buckets:
            bucket_name = ctx.storage.bucket_names.apply(functools.partial(_bucket, bucket.name))
            folder = gcp.storage.ManagedFolder(
                f"{name}-{bucket.name}",
                bucket=bucket_name,
                name=team.prefix,
                # Never delete the team's objects with the folder.
                force_destroy=False,
                opts=ctx.stateful(self),
            )
            gcp.storage.ManagedFolderIamMember(
                f"{name}-{bucket.name}",
                bucket=bucket_name,
                managed_folder=folder.name,
                role=OBJECT_USER,
                member=account.member,
                opts=self._child,
            )

    def _members(self, team: TeamSpec) -> dict[NamespaceRole, list[Subject]]:
        """The team's members as Kubernetes subjects, by the access level of their persona."""
        members: dict[NamespaceRole, list[Subject]] = {}
        for member in team_members([team], "gcp"):
            role = namespace_role(self._platform, member.persona)
            for principal in member.principals:
                found = subject(principal)
                if found is not None and found not in members.setdefault(role, []):
                    members[role].append(found)
        return members

    def _viewers(self) -> None:
        """Every team member may fetch the cluster's credentials (one grant per principal)."""
        principals = sorted({p for member in team_members(self._spec, "gcp") for p in member.principals
                             if subject(p) is not None})
        for principal in principals:
            gcp.projects.IAMMember(
                f"{self._name}-cluster-viewer-{naming.short_hash(principal)}",
                project=self._project,
                role=CLUSTER_VIEWER,
                member=principal,
                opts=self._child,
            )
