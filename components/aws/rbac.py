"""RBAC on AWS: personas become IAM roles, EKS access entries, and one workload role for training.

Creates, per persona the spec lists, an ``aws:iam/role:Role`` ``<platform>-<environment>-<persona>``
assumable only by that persona's principals on AWS (a per-cloud persona uses only its ``aws:`` list),
with one inline policy built from the capabilities of the persona's template (a table, below: a
built-in persona is its own template, a custom persona takes ``reader``, ``ci-deployer`` or
``platform-admin`` by its access level; resource names follow the persona's own name) and scoped to this platform's ARNs: its buckets and storage key, its
ECR repositories, its model package groups and their versions, its endpoints and its cluster. With
a cluster, per persona an ``aws:eks/accessEntry:AccessEntry`` and an
``aws:eks/accessPolicyAssociation:AccessPolicyAssociation`` (cluster admin, edit or view, by
template), and the
training workload ``aws:iam/role:Role`` that pods running as service account
``ml-training/training`` assume through the cluster's OIDC provider (IRSA): read datasets, write
artifacts. With a tracking server, per persona role (and the workload role) an
``aws:iam/rolePolicyAttachment:RolePolicyAttachment`` of the server's use or read policy
(``TRACKING_ACCESS``; separate attachments, so the roles' own inputs do not change).

No statement allows every action; a statement on every resource (``"*"``) only names actions that
have no resource-level permissions (ECR login, SageMaker List calls, CloudWatch metric reads and
dashboard listing); alarm, dashboard and SageMaker reads are scoped to the platform's names. The
platform-admin template (and admin-level custom personas) ends with an explicit Deny of the
guardrail-changing actions on the platform's resources (``GUARDRAIL_ACTIONS``), lifted only by
``rbac.allow_guardrail_changes`` (the role then carries the tag ``mlfabric-guardrail-changes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import pulumi
import pulumi_aws as aws

from mlfabric.components.aws.common import (
    caller_account,
    dict_output,
    ecr_repository_arn,
    endpoint_name,
    platform_log_group_name,
    policy_document,
    trust_policy,
    web_identity_trust,
)
from mlfabric.components.concerns import RbacOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import RbacSpec
from mlfabric.components.spec.rbac import PersonaGrant, Template

# Where training pods run: the cluster concern creates this service account, annotated with
# ``eks.amazonaws.com/role-arn: <workload_identity>``.
TRAINING_NAMESPACE: Final = "ml-training"
TRAINING_SERVICE_ACCOUNT: Final = "training"
DATASETS_BUCKET: Final = "datasets"
ARTIFACTS_BUCKET: Final = "artifacts"
MODELS_BUCKET: Final = "models"

Capability = Literal[
    "read-data", "write-artifacts", "write-models", "write-data", "administer-data",
    "pull-images", "push-images", "administer-images",
    "read-models", "register-models", "administer-models",
    "invoke-endpoints", "administer-endpoints",
    "use-cluster", "describe-cluster", "administer-cluster", "read-monitoring",
]

# What each template (a built-in persona, or "reader") may do; variants are data. Every capability is
# scoped to the platform's ARNs. A custom persona takes the template of its access level.
PERSONA_CAPABILITIES: Final[dict[Template, tuple[Capability, ...]]] = {
    "data-scientist": ("read-data", "write-artifacts", "pull-images", "read-models", "invoke-endpoints",
                       "use-cluster", "read-monitoring"),
    "ml-engineer": ("read-data", "write-data", "pull-images", "push-images", "read-models", "register-models",
                    "invoke-endpoints", "use-cluster", "read-monitoring"),
    "ci-deployer": ("read-data", "write-models", "pull-images", "push-images", "read-models", "register-models",
                    "invoke-endpoints", "use-cluster"),
    "platform-admin": ("administer-data", "administer-images", "administer-models", "administer-endpoints",
                       "administer-cluster", "read-monitoring"),
    # read data buckets, models, images, logs and dashboards; no write, no deploy, no invoke
    "reader": ("read-data", "pull-images", "read-models", "describe-cluster", "read-monitoring"),
}

# Access to the MLflow tracking server per template (``tracking.py``'s policies): those who train
# and operate log runs; those who deploy or read only read them.
TRACKING_ACCESS: Final[dict[Template, Literal["use", "read"]]] = {
    "data-scientist": "use",
    "ml-engineer": "use",
    "platform-admin": "use",
    "ci-deployer": "read",
    "reader": "read",
}

# EKS access policy per template (cluster-wide scope).
EKS_ACCESS_POLICIES: Final[dict[Template, str]] = {
    "platform-admin": "AmazonEKSClusterAdminPolicy",
    "ml-engineer": "AmazonEKSEditPolicy",
    "ci-deployer": "AmazonEKSEditPolicy",
    "data-scientist": "AmazonEKSViewPolicy",
    "reader": "AmazonEKSViewPolicy",
}

_S3_READ_BUCKET = ["s3:ListBucket", "s3:GetBucketLocation"]
_S3_READ_OBJECT = ["s3:GetObject", "s3:GetObjectVersion"]
_S3_WRITE_OBJECT = ["s3:PutObject", "s3:AbortMultipartUpload"]
_KMS_READ = ["kms:Decrypt", "kms:DescribeKey"]
_KMS_WRITE = ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]
_ECR_PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
             "ecr:DescribeImages", "ecr:ListImages", "ecr:DescribeImageScanFindings"]
_ECR_PUSH = ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"]

# What the policy pack enforces on the platform's own resources, as IAM actions: an admin-level persona
# operates the platform (``s3:*``, ``ecr:*``, ``eks:*``, ``sagemaker:*`` on its resources) but an
# explicit Deny keeps it from switching these off outside Pulumi, unless the spec opens the escape
# hatch ``rbac.allow_guardrail_changes`` (then the role carries GUARDRAIL_TAG and ``check`` flags it).
GUARDRAIL_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "buckets": ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketPublicAccessBlock",
                "s3:PutEncryptionConfiguration", "s3:PutBucketVersioning", "s3:PutBucketAcl",
                "s3:PutBucketOwnershipControls", "s3:PutBucketLogging", "s3:PutReplicationConfiguration",
                "s3:PutBucketObjectLockConfiguration", "s3:DeleteBucket"),
    "repositories": ("ecr:SetRepositoryPolicy", "ecr:DeleteRepositoryPolicy", "ecr:PutImageTagMutability",
                     "ecr:PutImageScanningConfiguration", "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy",
                     "ecr:DeleteRepository"),
    "cluster": ("eks:CreateAccessEntry", "eks:UpdateAccessEntry", "eks:DeleteAccessEntry", "eks:AssociateAccessPolicy",
                "eks:DisassociateAccessPolicy", "eks:UpdateClusterConfig", "eks:AssociateEncryptionConfig",
                "eks:UpdateAddon", "eks:DeleteAddon", "eks:DeleteCluster"),
    "models": ("sagemaker:PutModelPackageGroupPolicy", "sagemaker:DeleteModelPackageGroupPolicy",
               "sagemaker:DeleteModelPackageGroup"),
}
GUARDRAIL_TAG: Final = "mlfabric-guardrail-changes"
GUARDRAIL_DENY_SID: Final = "DenyGuardrailChanges"


@dataclass(frozen=True)
class _Scope:
    """The platform's ARNs, resolved: what every persona policy is scoped to."""

    partition: str
    account: str
    region: str
    base_name: str
    buckets: dict[str, str]  # spec bucket name -> bucket ARN
    key: str | None
    repositories: list[str]
    model_groups: list[str]
    cluster_name: str | None

    @property
    def objects(self) -> list[str]:
        return [f"{arn}/*" for arn in self.buckets.values()]

    def bucket(self, name: str) -> list[str]:
        return [self.buckets[name]] if name in self.buckets else []

    @property
    def model_packages(self) -> list[str]:
        return [g.replace(":model-package-group/", ":model-package/", 1) + "/*" for g in self.model_groups]

    @property
    def endpoints(self) -> list[str]:
        # Endpoint names are <platform>-<environment>-<endpoint> (AwsServing); SageMaker ARNs are lower case.
        arn = f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:endpoint/"
        return [arn + endpoint_name(self.base_name, "*")]

    @property
    def cluster(self) -> list[str]:
        if self.cluster_name is None:
            return []
        return [f"arn:{self.partition}:eks:{self.region}:{self.account}:cluster/{self.cluster_name}"]

    @property
    def cluster_children(self) -> list[str]:
        if self.cluster_name is None:
            return []
        prefix = f"arn:{self.partition}:eks:{self.region}:{self.account}"
        kinds = ("nodegroup", "addon", "access-entry", "podidentityassociation", "identityproviderconfig")
        return [*self.cluster, *(f"{prefix}:{kind}/{self.cluster_name}/*" for kind in kinds)]

    def sagemaker(self, kind: str) -> list[str]:
        """SageMaker resources of ``kind`` (model, endpoint-config...) the platform names
        ``<platform>-<environment>-...``; SageMaker ARNs are lower case."""
        return [f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:{kind}/{self.base_name.lower()}-*"]

    @property
    def alarms(self) -> list[str]:
        return [f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{self.base_name}-*"]

    @property
    def dashboards(self) -> list[str]:
        # Dashboards are global: no region in their ARN.
        return [f"arn:{self.partition}:cloudwatch::{self.account}:dashboard/{self.base_name}*"]

    @property
    def log_groups(self) -> list[str]:
        prefix = f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:"
        groups = [platform_log_group_name(self.base_name), f"/aws/sagemaker/Endpoints/{endpoint_name(self.base_name, '*')}"]
        if self.cluster_name is not None:
            groups.append(f"/aws/containerinsights/{self.cluster_name}/*")
        return [f"{prefix}{g}:*" for g in groups]


def _statement(sid: str, actions: list[str], resources: list[str]) -> list[dict[str, Any]]:
    """One Allow statement, or none when there is nothing of that kind to scope it to."""
    if not resources:
        return []
    return [{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}]


def _capability(capability: Capability, s: _Scope) -> list[dict[str, Any]]:
    key = [s.key] if s.key else []

    def objects_of(*names: str) -> list[str]:
        return [f"{arn}/*" for name in names for arn in s.bucket(name)]

    table: dict[Capability, list[dict[str, Any]]] = {
        "read-data": [
            *_statement("ListPlatformBuckets", _S3_READ_BUCKET, list(s.buckets.values())),
            *_statement("ReadPlatformObjects", _S3_READ_OBJECT, s.objects),
            *_statement("DecryptWithStorageKey", _KMS_READ, key),
        ],
        "write-artifacts": [
            *_statement("WriteArtifacts", _S3_WRITE_OBJECT, objects_of(ARTIFACTS_BUCKET)),
            *_statement("EncryptArtifactsWithStorageKey", _KMS_WRITE, key),
        ],
        "write-models": [
            *_statement("WriteModelsAndArtifacts", _S3_WRITE_OBJECT, objects_of(MODELS_BUCKET, ARTIFACTS_BUCKET)),
            *_statement("EncryptWithStorageKey", _KMS_WRITE, key),
        ],
        "write-data": [
            *_statement("WritePlatformObjects", [*_S3_WRITE_OBJECT, "s3:DeleteObject"], s.objects),
            *_statement("EncryptWithStorageKey", _KMS_WRITE, key),
        ],
        "administer-data": [
            *_statement("AdministerPlatformBuckets", ["s3:*"], [*s.buckets.values(), *s.objects]),
            *_statement("UseStorageKey", ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                          "kms:DescribeKey"], key),
        ],
        "pull-images": [
            *_statement("PullPlatformImages", _ECR_PULL, s.repositories),
            *_statement("LogInToEcr", ["ecr:GetAuthorizationToken"], ["*"] if s.repositories else []),
        ],
        "push-images": _statement("PushPlatformImages", _ECR_PUSH, s.repositories),
        "administer-images": [
            *_statement("AdministerPlatformRepositories", ["ecr:*"], s.repositories),
            *_statement("LogInToEcr", ["ecr:GetAuthorizationToken"], ["*"] if s.repositories else []),
        ],
        "read-models": [
            *_statement("ReadModelRegistry", ["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage",
                                              "sagemaker:ListModelPackages"], [*s.model_groups, *s.model_packages]),
        ],
        "register-models": _statement(
            "RegisterModelVersions", ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
            [*s.model_groups, *s.model_packages],
        ),
        "administer-models": _statement("AdministerModelRegistry", ["sagemaker:*"], [*s.model_groups, *s.model_packages]),
        "invoke-endpoints": _statement(
            "InvokePlatformEndpoints", ["sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint"], s.endpoints
        ),
        "administer-endpoints": [
            *_statement("AdministerPlatformEndpoints", ["sagemaker:*"], s.endpoints),
            # Models and endpoint configurations carry names the provider derives from the platform's
            # logical names (<platform>-<environment>-...): their reads are scoped to that prefix.
            *_statement("DescribePlatformSageMaker", ["sagemaker:DescribeModel", "sagemaker:DescribeEndpointConfig",
                                                      "sagemaker:DescribeEndpoint"],
                        [*s.sagemaker("model"), *s.sagemaker("endpoint-config"), *s.endpoints]),
            # List calls have no resource-level permissions (IAM service authorization reference, SageMaker).
            *_statement("ListSageMaker", ["sagemaker:ListModels", "sagemaker:ListEndpointConfigs",
                                          "sagemaker:ListEndpoints", "sagemaker:ListModelPackageGroups"], ["*"]),
        ],
        "use-cluster": _statement("DescribePlatformCluster", ["eks:DescribeCluster", "eks:ListAccessEntries"], s.cluster),
        "describe-cluster": _statement("DescribePlatformCluster", ["eks:DescribeCluster"], s.cluster),
        "administer-cluster": _statement("AdministerPlatformCluster", ["eks:*"], s.cluster_children),
        "read-monitoring": [
            # Metric reads and dashboard listing have no resource-level permissions (IAM service
            # authorization reference, CloudWatch); alarm and dashboard reads do: scoped to the platform's.
            *_statement("ReadMetrics", ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics",
                                        "cloudwatch:ListDashboards"], ["*"]),
            *_statement("ReadPlatformAlarms", ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
                        s.alarms),
            *_statement("ReadPlatformDashboards", ["cloudwatch:GetDashboard"], s.dashboards),
            *_statement("ReadPlatformLogs", ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogStreams"],
                        s.log_groups),
        ],
    }
    return table[capability]


def guardrail_deny(scope: _Scope) -> list[dict[str, Any]]:
    """The explicit Deny of every guardrail-changing action on the platform's own resources (one
    statement; none when the platform has none of them)."""
    targets = {
        "buckets": list(scope.buckets.values()),
        "repositories": scope.repositories,
        "cluster": scope.cluster_children,
        "models": scope.model_groups,
    }
    actions = [a for kind, resources in targets.items() if resources for a in GUARDRAIL_ACTIONS[kind]]
    resources = [r for resources in targets.values() for r in resources]
    if not actions:
        return []
    return [{"Sid": GUARDRAIL_DENY_SID, "Effect": "Deny", "Action": actions, "Resource": resources}]


def persona_policy(template: Template, scope: _Scope, *, allow_guardrail_changes: bool = False) -> dict[str, Any]:
    """The inline policy of a persona's role (the grants of its ``template``); statement ids are
    unique within it. The platform-admin template ends with the guardrail Deny unless
    ``allow_guardrail_changes``."""
    statements: list[dict[str, Any]] = []
    for capability in PERSONA_CAPABILITIES[template]:
        for granted in _capability(capability, scope):
            if granted in statements:
                continue
            if any(s["Sid"] == granted["Sid"] for s in statements):
                granted = {**granted, "Sid": f"{granted['Sid']}{len(statements)}"}  # noqa: PLW2901
            statements.append(granted)
    if template == "platform-admin" and not allow_guardrail_changes:
        statements.extend(guardrail_deny(scope))
    return policy_document(statements)


def _workload_policy(scope: _Scope) -> dict[str, Any]:
    key = [scope.key] if scope.key else []
    datasets, artifacts = scope.bucket(DATASETS_BUCKET), scope.bucket(ARTIFACTS_BUCKET)
    statements = [
        *_statement("ListDatasetsAndArtifacts", _S3_READ_BUCKET, [*datasets, *artifacts]),
        *_statement("ReadDatasets", _S3_READ_OBJECT, [f"{b}/*" for b in datasets]),
        *_statement("WriteArtifacts", [*_S3_READ_OBJECT, *_S3_WRITE_OBJECT], [f"{b}/*" for b in artifacts]),
        *_statement("UseStorageKey", _KMS_WRITE, key),
    ]
    return policy_document(statements)


def _irsa_trust(issuer_url: str, account: str, partition: str) -> dict[str, Any]:
    issuer = issuer_url.removeprefix("https://")
    provider = f"arn:{partition}:iam::{account}:oidc-provider/{issuer}"
    return web_identity_trust(provider, issuer, TRAINING_NAMESPACE, TRAINING_SERVICE_ACCOUNT)


class AwsRbac(RbacOutputs):
    """IAM roles per persona and for training pods, scoped to this platform; EKS access entries."""

    type_token = "mlfabric:rbac:AwsRbac"
    needs = ("storage", "registry", "cluster", "serving", "tracking")

    def __init__(
        self,
        name: str,
        spec: RbacSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        self._account, self._partition = caller_account(self)
        scope = self._scope()

        # Resource names follow the persona's name (a built-in persona keeps its deployed URNs); the
        # grants follow its template. Only this cloud's principals are used.
        roles = {grant.persona: self._persona_role(grant, scope) for grant in spec.grants(ctx.cloud)}
        workload = self._workload_role(scope) if ctx.cluster is not None else None

        self._tracking_access(roles, workload)

        self.persona_roles = dict_output({p: r.arn for p, r in roles.items()})
        self.workload_identity = workload.arn if workload is not None else pulumi.Output.from_input("")
        self.register_contract()

    def _tracking_access(self, roles: dict[str, aws.iam.Role], workload: aws.iam.Role | None) -> None:
        """Attach the tracking server's access policies (``tracking.py``) to the persona roles by
        template (``TRACKING_ACCESS``) and to the training workload role (it logs runs). Separate
        attachments: the roles' own inputs do not change when tracking is added."""
        policies: dict[str, pulumi.Output[str]] | None = getattr(self._ctx.tracking, "policy_arns", None)
        if not policies:
            return
        templates = {grant.persona: grant.template for grant in self._spec.grants(self._ctx.cloud)}
        attach = [(persona, role, TRACKING_ACCESS[templates[persona]]) for persona, role in roles.items()]
        if workload is not None:
            attach.append(("training", workload, "use"))
        for who, role, access in attach:
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{who}-mlflow-{access}", role=role.name, policy_arn=policies[access], opts=self._child
            )

    def _scope(self) -> pulumi.Output[_Scope]:
        ctx = self._ctx
        empty: pulumi.Output[Any] = pulumi.Output.from_input({})
        storage, registry = ctx.storage, ctx.registry
        inputs: dict[str, Any] = {
            "account": self._account,
            "partition": self._partition,
            "buckets": storage.bucket_ids if storage is not None else empty,
            "key": storage.encryption_key_id if storage is not None else None,
            "urls": registry.registry_urls if registry is not None else empty,
            "groups": registry.model_registry_ids if registry is not None else empty,
            "cluster": ctx.cluster.cluster_name if ctx.cluster is not None else None,
        }

        def build(v: dict[str, Any]) -> _Scope:
            return _Scope(
                partition=v["partition"],
                account=v["account"],
                region=ctx.region,
                base_name=ctx.base_name,
                buckets=dict(v["buckets"]),
                key=v["key"],
                repositories=sorted(
                    arn for url in v["urls"].values() if (arn := ecr_repository_arn(url, v["partition"]))
                ),
                model_groups=sorted(v["groups"].values()),
                cluster_name=v["cluster"],
            )

        return pulumi.Output.all(**inputs).apply(build)

    def _persona_role(self, grant: PersonaGrant, scope: pulumi.Output[_Scope]) -> aws.iam.Role:
        ctx = self._ctx
        persona, template = grant.persona, grant.template
        logical = f"{self._name}-{persona}"
        hatch = template == "platform-admin" and self._spec.allow_guardrail_changes
        policy = scope.apply(lambda s: persona_policy(template, s, allow_guardrail_changes=hatch))
        # The escape hatch is visible on the role itself: check flags roles carrying this tag.
        hatch_tag = {GUARDRAIL_TAG: "allowed"} if hatch else {}
        role = aws.iam.Role(
            logical,
            name=f"{ctx.base_name}-{persona}",
            description=f"mlfabric {ctx.base_name}: the {persona} persona",
            assume_role_policy=pulumi.Output.json_dumps(trust_policy({"AWS": sorted(grant.principals)})),
            inline_policies=[aws.iam.RoleInlinePolicyArgs(name=persona, policy=pulumi.Output.json_dumps(policy))],
            tags=ctx.tags({"mlfabric-persona": persona, **hatch_tag}),
            opts=self._child,
        )
        if ctx.cluster is not None:
            self._cluster_access(logical, grant, role, ctx.cluster.cluster_name)
        return role

    def _cluster_access(
        self, logical: str, grant: PersonaGrant, role: aws.iam.Role, cluster_name: pulumi.Output[str]
    ) -> None:
        persona, template = grant.persona, grant.template
        child = self._child
        entry = aws.eks.AccessEntry(
            logical,
            cluster_name=cluster_name,
            principal_arn=role.arn,
            type="STANDARD",
            tags=self._ctx.tags({"mlfabric-persona": persona}),
            opts=child,
        )
        aws.eks.AccessPolicyAssociation(
            logical,
            cluster_name=cluster_name,
            principal_arn=entry.principal_arn,
            policy_arn=self._partition.apply(
                lambda p: f"arn:{p}:eks::aws:cluster-access-policy/{EKS_ACCESS_POLICIES[template]}"
            ),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=child,
        )

    def _workload_role(self, scope: pulumi.Output[_Scope]) -> aws.iam.Role:
        ctx = self._ctx
        assert ctx.cluster is not None
        trust = pulumi.Output.all(ctx.cluster.oidc_issuer_url, self._account, self._partition).apply(
            lambda a: _irsa_trust(a[0], a[1], a[2])
        )
        return aws.iam.Role(
            f"{self._name}-training",
            name=f"{ctx.base_name}-training",
            description=f"mlfabric {ctx.base_name}: training pods ({TRAINING_NAMESPACE}/{TRAINING_SERVICE_ACCOUNT})",
            assume_role_policy=pulumi.Output.json_dumps(trust),
            inline_policies=[
                aws.iam.RoleInlinePolicyArgs(name="training", policy=pulumi.Output.json_dumps(scope.apply(_workload_policy)))
            ],
            tags=ctx.tags({"mlfabric-workload": "training"}),
            opts=self._child,
        )

