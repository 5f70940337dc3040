"""Experiment tracking on AWS: a SageMaker managed MLflow tracking server.

Creates (children of the tracking component):

- an ``aws:iam/role:Role`` ``<platform>-<environment>-mlflow`` that only SageMaker assumes, with one
  inline policy: list, read and write objects under ``mlflow/`` of the artifacts bucket only, and
  use the storage key only through S3 (``kms:ViaService``) — the artifacts are SSE-KMS objects of the
  platform's bucket, encrypted with the platform key by the bucket's default encryption;
- an ``aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer`` ``<platform>-<environment>-mlflow``
  (size Small/Medium/Large from ``tracking.size``) whose artifact store is
  ``s3://<artifacts>/mlflow/``, without automatic registration into the model registry (models are
  registered on purpose, through ``registry.models``);
- two ``aws:iam/policy:Policy``: ``<platform>-<environment>-mlflow-use`` (every ``sagemaker-mlflow``
  action on this server, its presigned UI URL) and ``<platform>-<environment>-mlflow-read`` (the
  read-only ``Get*``/``Search*``/``List*`` actions), and, per team, an
  ``aws:iam/rolePolicyAttachment:RolePolicyAttachment`` of the use policy to the team's role (training
  pods and notebooks log runs as the team). ``rbac`` attaches them to the persona roles and the
  training workload role (``TRACKING_ACCESS``).

Access is IAM only: the server has no unauthenticated URL. Clients sign requests (the
``sagemaker-mlflow`` plugin with ``MLFLOW_TRACKING_URI`` set to the server's ARN, the output
``tracking_uri``), and the UI opens only through ``CreatePresignedMlflowTrackingServerUrl``. The
server runs in a VPC SageMaker manages; what the provider cannot declare — a customer key for the
server's own metadata store, an interface endpoint in the platform VPC — is in the README's limits.
Attachments are separate resources so that the roles' own inputs do not change when tracking is added.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import pulumi
import pulumi_aws as aws

from mlfabric.components.aws.common import caller_account, policy_document, trust_policy
from mlfabric.components.concerns import TrackingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import TrackingSpec

ARTIFACTS_BUCKET: Final = "artifacts"
ARTIFACT_PREFIX: Final = "mlflow/"
SERVER_SIZES: Final = {"small": "Small", "medium": "Medium", "large": "Large"}
Access = Literal["use", "read"]
# Actions of the sagemaker-mlflow service (Service Authorization Reference, "Actions, resources, and
# condition keys for Amazon SageMaker with MLflow",
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerwithmlflow.html).
MLFLOW_READ_ACTIONS: Final = ("sagemaker-mlflow:Get*", "sagemaker-mlflow:Search*", "sagemaker-mlflow:List*")
# AccessUI has no resource type in that reference: it can only be granted on "*"; the presigned URL
# (scoped to the server) is what actually opens the UI.
MLFLOW_UI_ACTION: Final = "sagemaker-mlflow:AccessUI"
SERVER_ACTIONS: Final = ("sagemaker:DescribeMlflowTrackingServer", "sagemaker:CreatePresignedMlflowTrackingServerUrl")


def tracking_server_name(base_name: str) -> str:
    return f"{base_name}-mlflow"


def artifact_policy(bucket_arn: str, key_arn: str, region: str) -> dict[str, Any]:
    """The server role's policy: its prefix of the artifacts bucket, the storage key through S3 only."""
    return policy_document([
        {"Sid": "ListArtifactPrefix", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": bucket_arn, "Condition": {"StringLike": {"s3:prefix": [f"{ARTIFACT_PREFIX}*"]}}},
        {"Sid": "ReadWriteArtifacts", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
         "Resource": f"{bucket_arn}/{ARTIFACT_PREFIX}*"},
        {"Sid": "UseStorageKeyThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": key_arn, "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
    ])


def access_policy(server_arn: str, access: Access) -> dict[str, Any]:
    """What a principal may do on this tracking server: everything (``use``) or read only."""
    actions = ["sagemaker-mlflow:*"] if access == "use" else list(MLFLOW_READ_ACTIONS)
    return policy_document([
        {"Sid": "TrackExperiments" if access == "use" else "ReadExperiments", "Effect": "Allow",
         "Action": actions, "Resource": server_arn},
        {"Sid": "OpenTrackingServer", "Effect": "Allow", "Action": list(SERVER_ACTIONS), "Resource": server_arn},
        {"Sid": "OpenMlflowUi", "Effect": "Allow", "Action": MLFLOW_UI_ACTION, "Resource": "*"},
    ])


def role_name_of(arn: str) -> str:
    """An IAM role's name from its ARN (the last path segment)."""
    return arn.rsplit("/", 1)[-1]


def team_identity(teams: pulumi.Output[dict[str, dict[str, str]]], team: str) -> pulumi.Output[str]:
    """A team's IAM role ARN, from the teams concern's output."""
    def pick(values: dict[str, dict[str, str]]) -> str:
        return values[team]["identity"]

    return teams.apply(pick)


class AwsTracking(TrackingOutputs):
    """SageMaker managed MLflow: artifacts in the artifacts bucket, IAM-only access."""

    type_token = "mlfabric:tracking:AwsTracking"
    needs = ("storage", "teams")

    # the managed policies rbac attaches to persona and workload roles (by access level)
    policy_arns: dict[Access, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        spec: TrackingSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        storage = ctx.storage
        # spec_rules refuses tracking without the artifacts bucket (and storage is always built).
        assert storage is not None, "AwsTracking needs ctx.storage: build the storage concern first"
        self._account, self._partition = caller_account(self)
        bucket_arn = storage.bucket_ids.apply(lambda ids: ids[ARTIFACTS_BUCKET])
        bucket_name = storage.bucket_names.apply(lambda names: names[ARTIFACTS_BUCKET])
        policy = pulumi.Output.all(bucket_arn, storage.encryption_key_id).apply(
            lambda a: artifact_policy(a[0], a[1], ctx.region))
        role = aws.iam.Role(
            f"{name}-mlflow",
            name=tracking_server_name(ctx.base_name),
            description=f"mlfabric {ctx.base_name}: the MLflow tracking server's access to s3://<artifacts>/{ARTIFACT_PREFIX}",
            assume_role_policy=pulumi.Output.json_dumps(trust_policy({"Service": "sagemaker.amazonaws.com"})),
            inline_policies=[aws.iam.RoleInlinePolicyArgs(name="mlflow", policy=pulumi.Output.json_dumps(policy))],
            tags=ctx.tags(),
            opts=self._child,
        )
        server = aws.sagemaker.MlflowTrackingServer(
            f"{name}-mlflow",
            tracking_server_name=tracking_server_name(ctx.base_name),
            artifact_store_uri=bucket_name.apply(lambda b: f"s3://{b}/{ARTIFACT_PREFIX}"),
            role_arn=role.arn,
            tracking_server_size=SERVER_SIZES[spec.size],
            automatic_model_registration=False,
            tags=ctx.tags(),
            # Runs and experiments live in the server's store: protected like the data they describe.
            opts=ctx.stateful(self),
        )
        self.policy_arns = {access: self._access_policy(server, access) for access in ("use", "read")}
        self._attach_to_teams(self.policy_arns["use"])
        self.tracking_uri = server.arn
        self.register_contract()

    def _access_policy(self, server: aws.sagemaker.MlflowTrackingServer, access: Access) -> pulumi.Output[str]:
        ctx = self._ctx
        document = server.arn.apply(lambda arn: access_policy(arn, access))
        policy = aws.iam.Policy(
            f"{self._name}-mlflow-{access}",
            name=f"{tracking_server_name(ctx.base_name)}-{access}",
            description=f"mlfabric {ctx.base_name}: {access} the MLflow tracking server",
            policy=pulumi.Output.json_dumps(document),
            tags=ctx.tags(),
            opts=self._child,
        )
        return policy.arn

    def _attach_to_teams(self, policy_arn: pulumi.Output[str]) -> None:
        ctx = self._ctx
        if ctx.teams is None or ctx.spec is None:
            return
        for team in ctx.spec.teams:
            aws.iam.RolePolicyAttachment(
                f"{self._name}-mlflow-team-{team.name}",
                role=team_identity(ctx.teams.teams, team.name).apply(role_name_of),
                policy_arn=policy_arn,
                opts=self._child,
            )
