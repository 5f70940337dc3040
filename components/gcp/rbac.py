"""RBAC on GCP: personas become IAM grants of predefined roles to the spec's principals, scoped to the
platform's own resources; one Workload Identity service account for training pods.

Creates, for every principal of every persona (``rbac.grants("gcp")``: a persona's list, or its
``gcp:`` list when principals are given per cloud), the grants of the persona's template in
``PERSONA_GRANTS`` (predefined roles only — never ``roles/owner`` or ``roles/editor``). A built-in
persona is its own template; a custom persona (``rbac.custom_personas``) takes ``reader`` (access
``read``: read data, images, models, endpoint settings, logs and dashboards), ``ci-deployer``
(``deploy``) or ``platform-admin`` (``admin``):

- buckets: a ``gcp:projects/iAMMember:IAMMember`` with an IAM condition naming exactly the platform's
  buckets (``resource.name`` of each bucket and its objects) — Cloud Storage is one of the services
  whose IAM conditions can test resource names, and a condition needs no bucket list at declaration
  time (bucket names are computed). A grant on named buckets (``artifacts``, ``models``,
  ``datasets``) that the spec does not declare matches no bucket;
- repositories: a ``gcp:artifactregistry/repositoryIamMember:RepositoryIamMember`` per platform
  repository (reader, writer or repoAdmin);
- endpoints: a ``gcp:cloudrunv2/serviceIamMember:ServiceIamMember`` per Cloud Run service (invoker;
  admin for platform admins), and the same grant on the MLflow tracking server's service with
  ``tracking`` (``<platform>-tracking-mlflow-*``);
- cluster: a project ``IAMMember`` with a Kubernetes Engine role (viewer, developer, admin; the GKE
  counterpart of EKS access policies). GKE has no per-cluster IAM: these roles cover every cluster
  of the project, so keep other clusters out of a platform's project or use Kubernetes RBAC there;
- models: a project ``IAMMember`` with a Vertex AI role (Vertex models have no resource-level IAM);
- monitoring: project ``roles/monitoring.viewer`` and ``roles/logging.viewer``.

A principal listed under several personas gets each distinct grant once (bucket grants of one role
are merged into one condition). With a cluster, the training identity: a
``gcp:serviceaccount/account:Account`` ``<platform>-<environment>-training`` that reads the datasets
bucket and reads and writes the artifacts bucket (conditional project grants as above), and a
``gcp:serviceaccount/iAMMember:IAMMember`` letting the Kubernetes service account
``ml-training/training`` of the platform's cluster act as it (``roles/iam.workloadIdentityUser`` on
``<project>.svc.id.goog[ml-training/training]``). Annotate that Kubernetes service account with
``iam.gke.io/gcp-service-account: <workload_identity>``.

Guardrails: ``roles/storage.admin`` and ``roles/container.admin`` (platform-admin and admin-level
custom personas) include changing a bucket's encryption, versioning, public access prevention and IAM,
and the cluster's Binary Authorization and network settings — what the policy pack enforces. Unless
``rbac.allow_guardrail_changes``, a ``gcp:iam/denyPolicy:DenyPolicy`` on the project
(``<platform>-<environment>-guardrails``) denies those principals ``GUARDRAIL_PERMISSIONS``: they keep
operating the platform (objects, node pools, workloads) and change guardrails through the stack's
deployer only. Deny policies cannot name resources (only resource tags), so the deny covers every
bucket and cluster of the project: keep the platform in a project of its own. ``domain:`` members have
no deny-policy principal form and are not denied (the pack reports them). Creating deny policies needs
``roles/iam.denyAdmin`` for the deployer.

``persona_roles`` maps each persona to the predefined roles its principals hold (comma-separated):
GCP grants roles to principals directly, there is no role to assume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import pulumi
import pulumi_gcp as gcp

from mlfabric.components import naming
from mlfabric.components.concerns import RbacOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import (
    account_id,
    enable_api,
    models_of,
    project_id,
    repositories_of,
    services_of,
    tracking_service_name,
)
from mlfabric.components.spec import RbacSpec, Template

TRAINING_NAMESPACE: Final = "ml-training"
TRAINING_SERVICE_ACCOUNT: Final = "training"
DATASETS_BUCKET: Final = "datasets"
ARTIFACTS_BUCKET: Final = "artifacts"
MODELS_BUCKET: Final = "models"
WORKLOAD_IDENTITY_USER: Final = "roles/iam.workloadIdentityUser"
IAM_API: Final = "iam.googleapis.com"
# Roles of the admin template that reach a guardrail, and what the deny policy takes back from them
# (IAM v2 permission names; policies/rules/hardening_gcp.py checks the same lists).
GUARDRAIL_ROLES: Final = frozenset({"roles/storage.admin", "roles/container.admin"})
GUARDRAIL_PERMISSIONS: Final = (
    "storage.googleapis.com/buckets.update",
    "storage.googleapis.com/buckets.setIamPolicy",
    "container.googleapis.com/clusters.update",
)
# Basic roles no grant of this module may use (the policy pack refuses them too).
FORBIDDEN_ROLES: Final = frozenset({"roles/owner", "roles/editor", "roles/viewer"})

Scope = Literal["buckets", "repositories", "endpoints", "cluster", "models", "project"]


@dataclass(frozen=True)
class Grant:
    """A predefined role on one kind of platform resource (on named buckets when ``buckets`` is set)."""

    scope: Scope
    role: str
    buckets: tuple[str, ...] = ()


# What each persona template may do, as data; mirrors the AWS persona capabilities. A built-in persona
# is its own template; a custom persona takes the template of its access level (read: reader,
# deploy: ci-deployer, admin: platform-admin).
PERSONA_GRANTS: Final[dict[Template, tuple[Grant, ...]]] = {
    "data-scientist": (
        Grant("buckets", "roles/storage.objectViewer"),
        Grant("buckets", "roles/storage.objectCreator", (ARTIFACTS_BUCKET,)),
        Grant("repositories", "roles/artifactregistry.reader"),
        Grant("endpoints", "roles/run.invoker"),
        Grant("cluster", "roles/container.viewer"),
        Grant("models", "roles/aiplatform.viewer"),
        Grant("project", "roles/monitoring.viewer"),
        Grant("project", "roles/logging.viewer"),
    ),
    "ml-engineer": (
        Grant("buckets", "roles/storage.objectUser"),
        Grant("repositories", "roles/artifactregistry.writer"),
        Grant("endpoints", "roles/run.invoker"),
        Grant("cluster", "roles/container.developer"),
        Grant("models", "roles/aiplatform.user"),
        Grant("project", "roles/monitoring.viewer"),
        Grant("project", "roles/logging.viewer"),
    ),
    "ci-deployer": (
        Grant("buckets", "roles/storage.objectViewer"),
        Grant("buckets", "roles/storage.objectCreator", (MODELS_BUCKET, ARTIFACTS_BUCKET)),
        Grant("repositories", "roles/artifactregistry.writer"),
        Grant("endpoints", "roles/run.invoker"),
        Grant("cluster", "roles/container.developer"),
        Grant("models", "roles/aiplatform.user"),
    ),
    "platform-admin": (
        Grant("buckets", "roles/storage.admin"),
        Grant("repositories", "roles/artifactregistry.repoAdmin"),
        Grant("endpoints", "roles/run.admin"),
        Grant("cluster", "roles/container.admin"),
        Grant("models", "roles/aiplatform.admin"),
        Grant("project", "roles/monitoring.viewer"),
        Grant("project", "roles/logging.viewer"),
    ),
    # Read only: data, images, models, endpoint settings, logs and dashboards; no write, no deploy,
    # no invocation and nothing on the cluster.
    "reader": (
        Grant("buckets", "roles/storage.objectViewer"),
        Grant("repositories", "roles/artifactregistry.reader"),
        Grant("endpoints", "roles/run.viewer"),
        Grant("models", "roles/aiplatform.viewer"),
        Grant("project", "roles/monitoring.viewer"),
        Grant("project", "roles/logging.viewer"),
    ),
}
TRAINING_GRANTS: Final = (
    Grant("buckets", "roles/storage.objectViewer", (DATASETS_BUCKET,)),
    Grant("buckets", "roles/storage.objectUser", (ARTIFACTS_BUCKET,)),
)


def bucket_condition(bucket_names: list[str]) -> str:
    """An IAM condition (CEL) true for the named buckets and their objects, and nothing else."""
    if not bucket_names:
        # Bucket names cannot be "_": a grant whose buckets the spec does not declare matches none.
        return 'resource.name == "projects/_/buckets/_"'
    return " || ".join(
        f'resource.name == "projects/_/buckets/{b}" || resource.name.startsWith("projects/_/buckets/{b}/")'
        for b in sorted(bucket_names)
    )


def deny_principal(member: str) -> str | None:
    """The IAM v2 principal of an IAM v1 member (``group:x`` -> ``principalSet://goog/group/x``);
    None for kinds a deny policy cannot name (``domain:``)."""
    kind, _, value = member.partition(":")
    forms = {
        "user": f"principal://goog/subject/{value}",
        "group": f"principalSet://goog/group/{value}",
        "serviceAccount": f"principal://iam.googleapis.com/projects/-/serviceAccounts/{value}",
    }
    return forms.get(kind)


def _role_slug(role: str) -> str:
    return role.removeprefix("roles/").replace(".", "-")


class GcpRbac(RbacOutputs):
    """Predefined-role grants per persona on the platform's resources; Workload Identity for training."""

    type_token = "mlfabric:rbac:GcpRbac"
    needs = ("storage", "registry", "cluster", "serving", "tracking")

    def __init__(self, name: str, spec: RbacSpec, ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, spec, ctx, opts)
        self._project = project_id(ctx, self)
        self._repositories = repositories_of(ctx.registry)
        self._services = services_of(ctx.serving)
        self._has_models = bool(models_of(ctx.registry))
        # Previous names of renamed repositories and endpoints: their grants keep their identity.
        platform = ctx.spec
        self._renamed: dict[str, list[str]] = {}
        if platform is not None and platform.registry is not None:
            self._renamed.update({f"repository:{k}": v for k, v in platform.registry.renamed_from.items()})
        if platform is not None and platform.serving is not None:
            self._renamed.update({f"endpoint:{e.name}": e.renamed_from for e in platform.serving.endpoints})

        # Bucket grants: (role, member) -> buckets (None: every platform bucket), one conditional grant each;
        # other grants: (target, role, member), one resource each.
        self._bucket_grants: dict[tuple[str, str], set[str] | None] = {}
        self._other_grants: set[tuple[str, str, str]] = set()
        # Grants are named after (role, member), never after a persona: a principal holding the same role
        # through two personas gets one binding (two IAMMembers of one binding would remove it for both
        # when either is deleted), and adding or renaming a persona does not move existing grants.
        roles = {grant.persona: self._collect(grant.template, grant.principals) for grant in spec.grants("gcp")}

        for (role, member), buckets in sorted(self._bucket_grants.items(), key=lambda kv: kv[0]):
            self._bucket_grant(f"{name}-buckets-{_role_slug(role)}-{naming.short_hash(member)}", role, member,
                               None if buckets is None else sorted(buckets))
        for target, role, member in sorted(self._other_grants):
            self._grant(target, role, member)

        if not spec.allow_guardrail_changes:
            self._deny_guardrail_changes()
        workload = self._training_identity() if ctx.cluster is not None else None
        self.persona_roles = pulumi.Output.from_input(
            {persona: ", ".join(sorted(granted)) for persona, granted in roles.items()}
        )
        self.workload_identity = workload.email if workload is not None else pulumi.Output.from_input("")
        self.register_contract()

    def _collect(self, template: Template, principals: list[str]) -> set[str]:
        """Record the grants of one persona's principals; the roles the persona holds in this platform."""
        granted: set[str] = set()
        for grant in PERSONA_GRANTS[template]:
            assert grant.role not in FORBIDDEN_ROLES, f"{template}: {grant.role} is a basic role"
            targets = self._targets(grant)
            if not targets:
                continue
            granted.add(grant.role)
            for member in principals:
                if grant.scope == "buckets":
                    self._add_bucket_grant(grant, member)
                else:
                    self._other_grants.update((target, grant.role, member) for target in targets)
        return granted

    def _add_bucket_grant(self, grant: Grant, member: str) -> None:
        """Merge a bucket grant into the member's grant of the same role (None: every bucket wins)."""
        key = (grant.role, member)
        if (key in self._bucket_grants and self._bucket_grants[key] is None) or not grant.buckets:
            self._bucket_grants[key] = None
        else:
            self._bucket_grants[key] = (self._bucket_grants.get(key) or set()) | set(grant.buckets)

    def _targets(self, grant: Grant) -> list[str]:
        """Where a grant applies in this platform ([] when the platform has no such resource)."""
        ctx = self._ctx
        if grant.scope == "buckets":
            return ["buckets"] if ctx.storage is not None else []
        if grant.scope == "repositories":
            return [f"repository:{r}" for r in sorted(self._repositories)]
        if grant.scope == "endpoints":
            tracking = ["tracking:mlflow"] if ctx.tracking is not None else []
            return [f"endpoint:{e}" for e in sorted(self._services)] + tracking
        if grant.scope == "cluster":
            return ["project"] if ctx.cluster is not None else []
        if grant.scope == "models":
            return ["project"] if self._has_models else []
        return ["project"]

    def _bucket_grant(self, logical: str, role: str, member: pulumi.Input[str], buckets: list[str] | None) -> None:
        storage = self._ctx.storage
        assert storage is not None

        def condition(names: dict[str, str]) -> str:
            wanted = names.values() if buckets is None else [names[b] for b in buckets if b in names]
            return bucket_condition(list(wanted))

        scope = "every platform bucket" if buckets is None else f"buckets {', '.join(buckets)}"
        gcp.projects.IAMMember(
            logical,
            project=self._project,
            role=role,
            member=member,
            condition=gcp.projects.IAMMemberConditionArgs(
                title=f"mlfabric {self._ctx.base_name}: {scope}"[:100],
                description=f"{role} on {scope} of mlfabric platform {self._ctx.base_name} only",
                expression=storage.bucket_names.apply(condition),
            ),
            opts=self._child,
        )

    def _grant(self, target: str, role: str, member: str) -> None:
        ctx, child = self._ctx, self._child
        kind, _, item = target.partition(":")
        logical = f"{self._name}-{kind}{'-' + item if item else ''}-{_role_slug(role)}-{naming.short_hash(member)}"
        previous = self._renamed.get(target, [])
        if previous:
            # The item's name sits right after the kind: replace it there, not in the member hash.
            head = f"{self._name}-{kind}-{item}"
            aliases = [pulumi.Alias(name=f"{self._name}-{kind}-{old}{logical[len(head):]}") for old in previous]
            child = pulumi.ResourceOptions(parent=self, aliases=aliases)
        if kind == "repository":
            gcp.artifactregistry.RepositoryIamMember(
                logical, project=ctx.account, location=ctx.region, repository=self._repositories[item],
                role=role, member=member, opts=child,
            )
        elif kind == "endpoint":
            gcp.cloudrunv2.ServiceIamMember(
                logical, project=ctx.account, location=ctx.region, name=self._services[item],
                role=role, member=member, opts=child,
            )
        elif kind == "tracking":
            # The service exists once the tracking component's children do.
            after = [ctx.tracking] if isinstance(ctx.tracking, pulumi.Resource) else []
            gcp.cloudrunv2.ServiceIamMember(
                logical, project=ctx.account, location=ctx.region, name=tracking_service_name(ctx.base_name),
                role=role, member=member, opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=after)),
            )
        else:
            gcp.projects.IAMMember(logical, project=self._project, role=role, member=member, opts=child)

    def _deny_guardrail_changes(self) -> None:
        """The project deny policy that keeps admin-level principals off the guardrails."""
        members = {member for role, member in self._bucket_grants if role in GUARDRAIL_ROLES}
        members |= {member for _, role, member in self._other_grants if role in GUARDRAIL_ROLES}
        principals = sorted(p for p in (deny_principal(m) for m in members) if p is not None)
        if not principals:
            return
        ctx = self._ctx
        api = enable_api(f"{self._name}-iam-api", IAM_API, ctx, self)
        gcp.iam.DenyPolicy(
            f"{self._name}-guardrails",
            # The attachment point, URL-encoded as the IAM v2 API wants it.
            parent=self._project.apply(lambda p: f"cloudresourcemanager.googleapis.com%2Fprojects%2F{p}"),
            name=f"{ctx.base_name}-guardrails"[:63],
            display_name=f"mlfabric {ctx.base_name}: guardrails change through the stack only",
            rules=[gcp.iam.DenyPolicyRuleArgs(
                description="Admin personas keep operating the platform but cannot change bucket encryption, "
                "versioning, public access prevention or IAM, nor cluster settings, outside Pulumi.",
                deny_rule=gcp.iam.DenyPolicyRuleDenyRuleArgs(
                    denied_principals=principals, denied_permissions=list(GUARDRAIL_PERMISSIONS)
                ),
            )],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[api]),
        )

    def _training_identity(self) -> gcp.serviceaccount.Account:
        ctx, name = self._ctx, self._name
        assert ctx.cluster is not None
        account = gcp.serviceaccount.Account(
            f"{name}-training",
            account_id=account_id(ctx.base_name, "training"),
            display_name=f"mlfabric {ctx.base_name}: training pods",
            description=f"Workload Identity of {TRAINING_NAMESPACE}/{TRAINING_SERVICE_ACCOUNT} on the platform "
            "cluster: reads datasets, writes artifacts.",
            project=ctx.account,
            opts=self._child,
        )
        if ctx.storage is not None:
            for grant in TRAINING_GRANTS:
                self._bucket_grant(f"{name}-training-{_role_slug(grant.role)}", grant.role, account.member,
                                   list(grant.buckets))
        # The workload pool exists once the cluster does; the binding names it.
        cluster = [ctx.cluster] if isinstance(ctx.cluster, pulumi.Resource) else []
        gcp.serviceaccount.IAMMember(
            f"{name}-training-workload-identity",
            service_account_id=account.name,
            role=WORKLOAD_IDENTITY_USER,
            member=self._project.apply(
                lambda p: f"serviceAccount:{p}.svc.id.goog[{TRAINING_NAMESPACE}/{TRAINING_SERVICE_ACCOUNT}]"
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=cluster),
        )
        return account
