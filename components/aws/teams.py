"""Teams on AWS: per team an IRSA role scoped to its storage prefix, its namespace, queues and
member access on the EKS cluster.

Creates, per team (children of the teams component):

- an ``aws:iam/role:Role`` ``<platform>-<environment>-team-<name>`` (tagged ``mlfabric-team``) that
  only the service account ``<name>`` in namespace ``team-<name>`` of this cluster can assume (IRSA:
  the cluster's OIDC provider, ``sub`` = ``system:serviceaccount:team-<name>:<name>``, ``aud`` =
  ``sts.amazonaws.com``) — and, when the team has a notebook environment (``notebooks.teams``), SageMaker
  of this account (``aws:SourceAccount``), its Studio user profile's execution role —, with one inline policy: list the platform's buckets only under the team's
  prefix (``s3:ListBucket`` with an ``s3:prefix`` condition), read, write and delete objects only
  under it, use the storage key only through S3 (``kms:ViaService``), and pull the platform's ECR
  repositories;
- through the cluster's Kubernetes provider (``mlfabric.components.kubernetes.teams``): the
  namespace, the ServiceAccount annotated with ``eks.amazonaws.com/role-arn``, a GPU ResourceQuota,
  the ClusterQueue in the platform's cohort, the LocalQueue and, with a shared file system, the
  FSx for Lustre PersistentVolume and its ``shared-data`` claim.

Member access is EKS access entries, not RoleBindings (the cluster authenticates with access
entries only): per member principal one ``aws:eks/accessEntry:AccessEntry`` (EKS allows one per
principal and cluster, so a principal in several teams or personas has one entry), and per
principal and access level one ``aws:eks/accessPolicyAssociation:AccessPolicyAssociation`` of
AmazonEKSViewPolicy / AmazonEKSEditPolicy / AmazonEKSAdminPolicy scoped to the namespaces of the
teams that give it that level. The platform's own roles (persona roles: rbac gives them their
entries) cannot be team members (``spec_rules``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mlfabric.components.aws.common import (
    caller_account,
    ecr_repository_arn,
    policy_document,
    web_identity_trust,
)
from mlfabric.components.concerns import TeamsOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.kubernetes.queueing import Queueing
from mlfabric.components.kubernetes.teams import NamespaceRole, SharedVolume, TeamIdentity, namespace_role, team_objects
from mlfabric.components.spec import PlatformSpec, TeamSpec
from mlfabric.components.spec.teams import team_members

TEAM_TAG: Final = "mlfabric-team"
ROLE_ANNOTATION: Final = "eks.amazonaws.com/role-arn"
# EKS access policy per namespace role (``aws eks list-access-policies``).
NAMESPACE_ACCESS_POLICIES: Final[dict[NamespaceRole, str]] = {
    "view": "AmazonEKSViewPolicy",
    "edit": "AmazonEKSEditPolicy",
    "admin": "AmazonEKSAdminPolicy",
}
TEAM_S3_OBJECT_ACTIONS: Final = ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
                                 "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
TEAM_KMS_ACTIONS: Final = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
ECR_PULL_ACTIONS: Final = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


def team_role_name(base_name: str, team: str) -> str:
    """The IAM role of a team (platform roles are all ``<platform>-<environment>-...``)."""
    return f"{base_name}-team-{team}"


@dataclass(frozen=True)
class TeamScope:
    """What a team's policy is scoped to, resolved."""

    prefix: str
    region: str
    buckets: list[str]  # bucket ARNs
    key: str | None
    repositories: list[str]  # ECR repository ARNs


def team_policy(scope: TeamScope) -> dict[str, Any]:
    """A team role's inline policy: its prefix of the platform buckets, the storage key through S3
    only, image pulls from the platform's repositories."""
    statements: list[dict[str, Any]] = []
    if scope.buckets:
        statements += [
            {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": scope.buckets,
             "Condition": {"StringLike": {"s3:prefix": [f"{scope.prefix}*"]}}},
            {"Sid": "ReadWriteOwnPrefix", "Effect": "Allow", "Action": list(TEAM_S3_OBJECT_ACTIONS),
             "Resource": [f"{arn}/{scope.prefix}*" for arn in scope.buckets]},
        ]
    if scope.key:
        statements.append({
            "Sid": "UseStorageKeyThroughS3", "Effect": "Allow", "Action": list(TEAM_KMS_ACTIONS), "Resource": scope.key,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{scope.region}.amazonaws.com"}},
        })
    if scope.repositories:
        statements += [
            {"Sid": "PullPlatformImages", "Effect": "Allow", "Action": list(ECR_PULL_ACTIONS),
             "Resource": scope.repositories},
            # GetAuthorizationToken has no resource-level permissions (IAM service authorization reference, ECR).
            {"Sid": "LogInToEcr", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        ]
    return policy_document(statements)


def notebook_teams(spec: PlatformSpec) -> set[str]:
    """Teams whose role is also a SageMaker Studio execution role (``notebooks.teams``; every team
    when it is omitted)."""
    if spec.notebooks is None:
        return set()
    names = spec.notebooks.teams if spec.notebooks.teams is not None else [team.name for team in spec.teams]
    return set(names)


def with_sagemaker_trust(trust: dict[str, Any], account: str) -> dict[str, Any]:
    """``trust`` plus SageMaker (the team's Studio user profile runs as the role), only on behalf of
    this account (``aws:SourceAccount``: no other account's SageMaker resource can assume it)."""
    statement = {"Sid": "SageMakerStudioOfThisAccount", "Effect": "Allow",
                 "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"aws:SourceAccount": account}}}
    return {**trust, "Statement": [*trust["Statement"], statement]}


def principal_slug(principal: str) -> str:
    """A readable, stable part of a logical name for an IAM principal ARN (account and name)."""
    _, _, _, _, account, resource = (principal.split(":", 5) + [""] * 6)[:6]
    return re.sub(r"[^A-Za-z0-9_.@=+-]+", "-", f"{account}-{resource}").strip("-")


def member_levels(spec: PlatformSpec) -> dict[str, dict[NamespaceRole, list[str]]]:
    """Principal -> namespace role -> the namespaces where it has it (spec order, no repeats)."""
    found: dict[str, dict[NamespaceRole, list[str]]] = defaultdict(dict)
    namespaces = {team.name: team.namespace for team in spec.teams}
    for member in team_members(spec.teams, spec.cloud):
        role = namespace_role(spec, member.persona)
        for principal in member.principals:
            where = found[principal].setdefault(role, [])
            if namespaces[member.team] not in where:
                where.append(namespaces[member.team])
    return dict(found)


def _team_outputs(team: TeamSpec) -> Callable[[list[Any]], dict[str, str]]:
    """A team's stack-output entry from (its LocalQueue id, its ServiceAccount id, its role ARN): the
    ids only make the entry wait for the objects, whose names team_objects fixes."""
    def entry(values: list[Any]) -> dict[str, str]:
        return {"namespace": team.namespace, "queue": team.name, "service_account": team.name,
                "identity": str(values[2]), "storage_prefix": team.prefix}

    return entry


class AwsTeams(TeamsOutputs):
    """Per team an IRSA role on its prefix, its namespace and queues, and members' EKS access."""

    type_token = "mlfabric:teams:AwsTeams"

    def __init__(
        self,
        name: str,
        spec: list[TeamSpec],
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        platform, cluster = ctx.spec, ctx.cluster
        if platform is None or cluster is None:
            raise ValueError("AwsTeams needs the platform spec and the cluster: build the cluster concern first")
        provider = getattr(cluster, "kubernetes_provider", None)
        queues = getattr(cluster, "queueing", None)
        if not isinstance(provider, k8s.Provider) or not isinstance(queues, Queueing):
            raise ValueError("AwsTeams needs the AWS cluster's Kubernetes provider and queueing")
        shared = getattr(cluster, "shared_volume", None)
        self._account, self._partition = caller_account(self)
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=queues.ready)
        volume = (SharedVolume(driver="fsx.csi.aws.com", volume_handle=shared.file_system.id,
                               capacity_gib=shared.capacity_gib, attributes=shared.attributes,
                               mount_options=("flock",))
                  if shared is not None else None)

        teams: dict[str, pulumi.Output[dict[str, str]]] = {}
        for team in spec:
            role = self._team_role(team)
            identity = TeamIdentity(identity=role.arn, annotations={ROLE_ANNOTATION: role.arn})
            objects = team_objects(name, platform, team, identity, {}, in_cluster, volume)
            # The names are the ones team_objects gives; the ids make the output wait for the objects.
            teams[team.name] = pulumi.Output.all(objects.local_queue.id, objects.service_account.id, role.arn).apply(
                _team_outputs(team))
        self._member_access(platform, cluster.cluster_name)
        everything: pulumi.Output[dict[str, dict[str, str]]] = pulumi.Output.all(**teams)
        self.teams = everything
        self.register_contract()

    def _scope(self, team: TeamSpec) -> pulumi.Output[TeamScope]:
        ctx = self._ctx
        empty: pulumi.Output[Any] = pulumi.Output.from_input({})
        storage, registry = ctx.storage, ctx.registry
        return pulumi.Output.all(
            buckets=storage.bucket_ids if storage is not None else empty,
            key=storage.encryption_key_id if storage is not None else None,
            urls=registry.registry_urls if registry is not None else empty,
            partition=self._partition,
        ).apply(lambda v: TeamScope(
            prefix=team.prefix,
            region=ctx.region,
            buckets=sorted(v["buckets"].values()),
            key=v["key"],
            repositories=sorted(arn for url in v["urls"].values() if (arn := ecr_repository_arn(url, v["partition"]))),
        ))

    def _team_role(self, team: TeamSpec) -> aws.iam.Role:
        ctx, cluster = self._ctx, self._ctx.cluster
        assert cluster is not None
        studio = notebook_teams(ctx.spec) if ctx.spec is not None else set()
        def trust_of(a: list[str]) -> dict[str, Any]:
            irsa = web_identity_trust(f"arn:{a[2]}:iam::{a[1]}:oidc-provider/{a[0].removeprefix('https://')}",
                                      a[0].removeprefix("https://"), team.namespace, team.name)
            return with_sagemaker_trust(irsa, a[1]) if team.name in studio else irsa

        trust = pulumi.Output.all(cluster.oidc_issuer_url, self._account, self._partition).apply(trust_of)
        return aws.iam.Role(
            f"{self._name}-team-{team.name}",
            name=team_role_name(ctx.base_name, team.name),
            description=f"mlfabric {ctx.base_name}: team {team.name} ({team.namespace}/{team.name}), prefix {team.prefix}",
            assume_role_policy=pulumi.Output.json_dumps(trust),
            inline_policies=[aws.iam.RoleInlinePolicyArgs(
                name=f"team-{team.name}", policy=pulumi.Output.json_dumps(self._scope(team).apply(team_policy)),
            )],
            tags=ctx.tags({TEAM_TAG: team.name}),
            opts=self._child,
        )

    def _member_access(self, spec: PlatformSpec, cluster_name: pulumi.Output[str]) -> None:
        for principal, levels in member_levels(spec).items():
            logical = f"{self._name}-member-{principal_slug(principal)}"
            entry = aws.eks.AccessEntry(
                logical,
                cluster_name=cluster_name,
                principal_arn=principal,
                type="STANDARD",
                tags=self._ctx.tags(),
                opts=self._child,
            )
            for role, namespaces in levels.items():
                policy = NAMESPACE_ACCESS_POLICIES[role]
                aws.eks.AccessPolicyAssociation(
                    f"{logical}-{role}",
                    cluster_name=cluster_name,
                    principal_arn=entry.principal_arn,
                    policy_arn=pulumi.Output.format("arn:{0}:eks::aws:cluster-access-policy/{1}", self._partition, policy),
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="namespace", namespaces=namespaces),
                    opts=self._child,
                )
