"""Notebooks on AWS: a SageMaker Studio domain in VPC-only mode, one user profile per team.

Creates (children of the notebooks component):

- an ``aws:ec2/securityGroup:SecurityGroup`` ``<platform>-<environment>-notebooks`` for the Studio
  apps' network interfaces: no ingress; egress HTTPS (AWS APIs, through the VPC's endpoints or NAT)
  and NFS to the VPC's CIDR (the domain's EFS home directories);
- an ``aws:iam/role:Role`` ``<platform>-<environment>-notebooks`` that SageMaker assumes for this
  account only: the domain's default execution role. Without teams it is the ``platform``
  environment's identity (read the datasets bucket, read and write the artifacts bucket, the storage
  key through S3 only); with teams it has no data grants (a profile made outside mlfabric reads
  nothing);
- an ``aws:iam/policy:Policy`` ``<platform>-<environment>-studio``: manage one's own apps and spaces in
  this domain only, attached (``aws:iam/rolePolicyAttachment:RolePolicyAttachment``) to every
  execution role, and the tracking server's use policy attached to the platform role;
- an ``aws:sagemaker/domain:Domain`` ``<platform>-<environment>-studio``: IAM authentication,
  ``VpcOnly`` on the private subnets (no app has a public IP or reaches the internet except through
  the VPC), its EFS volume encrypted with the storage key, the security group above on every app,
  JupyterLab and Code Editor idle shutdown after ``notebooks.idle_minutes`` (users may not raise it),
  the JupyterLab instance type ``notebooks.machine`` (omitted: ml.t3.medium); home directories are
  retained in prod (``ctx.stateful``);
- per team in ``notebooks.teams`` (every team when omitted) an ``aws:sagemaker/userProfile:UserProfile``
  ``team-<name>`` whose execution role is the team's own IAM role (``teams.py`` adds SageMaker to its
  trust): its notebooks read and write only the team's storage prefix. Without teams, one profile
  ``platform`` running as the platform role.

The output ``notebooks`` maps the environment (team name, or ``platform``) to its user profile ARN:
members open it with ``aws sagemaker create-presigned-domain-url`` (their own principals need
``sagemaker:CreatePresignedDomainUrl`` on that ARN, granted where those principals are managed).
"""

from __future__ import annotations

from typing import Any, Final

import pulumi
import pulumi_aws as aws

from mlfabric.components.aws.common import caller_account, dict_output, policy_document
from mlfabric.components.aws.teams import with_sagemaker_trust
from mlfabric.components.aws.tracking import role_name_of, team_identity
from mlfabric.components.concerns import NotebooksOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import NotebooksSpec

# JupyterLab's default instance type in Studio (SageMaker Developer Guide, "Amazon SageMaker Studio
# JupyterLab": spaces start on ml.t3.medium unless another type is chosen).
DEFAULT_MACHINE: Final = "ml.t3.medium"
# Studio's idle shutdown takes 60 to 525600 minutes (pulumi-aws DomainDefaultUserSettings
# JupyterLabAppSettingsAppLifecycleManagementIdleSettings, SageMaker API IdleSettings).
MIN_IDLE_MINUTES: Final = 60
PLATFORM_ENVIRONMENT: Final = "platform"
NFS_PORT: Final = 2049
# What an execution role does in Studio on its own behalf: start and stop apps, create and change
# spaces, read its domain and profile (SageMaker Developer Guide, "Amazon SageMaker AI Studio
# permissions": the Studio UI calls these with the execution role's credentials).
STUDIO_ACTIONS: Final = (
    "sagemaker:CreateApp", "sagemaker:DeleteApp", "sagemaker:DescribeApp",
    "sagemaker:CreateSpace", "sagemaker:UpdateSpace", "sagemaker:DeleteSpace", "sagemaker:DescribeSpace",
    "sagemaker:DescribeUserProfile", "sagemaker:DescribeDomain", "sagemaker:AddTags",
)
# List calls have no resource-level permissions.
STUDIO_LIST_ACTIONS: Final = ("sagemaker:ListApps", "sagemaker:ListSpaces", "sagemaker:ListTags")


def studio_policy(partition: str, region: str, account: str, domain_id: str) -> dict[str, Any]:
    """An execution role's Studio grants, scoped to this domain's apps, spaces and profiles."""
    prefix = f"arn:{partition}:sagemaker:{region}:{account}"
    return policy_document([
        {"Sid": "OwnAppsAndSpacesInThisDomain", "Effect": "Allow", "Action": list(STUDIO_ACTIONS),
         "Resource": [f"{prefix}:domain/{domain_id}", f"{prefix}:user-profile/{domain_id}/*",
                      f"{prefix}:space/{domain_id}/*", f"{prefix}:app/{domain_id}/*"]},
        {"Sid": "ListStudio", "Effect": "Allow", "Action": list(STUDIO_LIST_ACTIONS), "Resource": "*"},
    ])


def platform_data_policy(datasets: str | None, artifacts: str | None, key: str, region: str) -> dict[str, Any]:
    """The platform environment's data grants: read datasets, read and write artifacts."""
    statements: list[dict[str, Any]] = []
    if datasets is not None:
        statements += [
            {"Sid": "ReadDatasets", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
             "Resource": datasets},
            {"Sid": "ReadDatasetObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
             "Resource": f"{datasets}/*"},
        ]
    if artifacts is not None:
        statements += [
            {"Sid": "ListArtifacts", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
             "Resource": artifacts},
            {"Sid": "ReadWriteArtifacts", "Effect": "Allow",
             "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], "Resource": f"{artifacts}/*"},
        ]
    statements.append({"Sid": "UseStorageKeyThroughS3", "Effect": "Allow",
                       "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": key,
                       "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}})
    return policy_document(statements)


def idle_settings(minutes: int) -> dict[str, Any]:
    """Idle shutdown after ``minutes``, which users may lower but not raise."""
    return {"lifecycle_management": "ENABLED", "idle_timeout_in_minutes": minutes,
            "min_idle_timeout_in_minutes": MIN_IDLE_MINUTES, "max_idle_timeout_in_minutes": minutes}


class AwsNotebooks(NotebooksOutputs):
    """A VPC-only SageMaker Studio domain; a user profile per team running as the team's role."""

    type_token = "mlfabric:notebooks:AwsNotebooks"
    needs = ("network", "storage", "teams", "tracking")

    def __init__(
        self,
        name: str,
        spec: NotebooksSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        # spec_rules refuses notebooks without a VPC (training or serving); storage is always built.
        assert ctx.network is not None and ctx.storage is not None and ctx.spec is not None, \
            "AwsNotebooks needs the network and storage concerns"
        self._account, self._partition = caller_account(self)
        teams = self._teams()
        group = self._security_group()
        platform_role = self._platform_role(with_data=not ctx.spec.teams)
        idle = idle_settings(spec.idle_minutes)
        machine = spec.machine or DEFAULT_MACHINE
        jupyter = aws.sagemaker.DomainDefaultUserSettingsJupyterLabAppSettingsArgs(
            app_lifecycle_management=aws.sagemaker.DomainDefaultUserSettingsJupyterLabAppSettingsAppLifecycleManagementArgs(
                idle_settings=aws.sagemaker.DomainDefaultUserSettingsJupyterLabAppSettingsAppLifecycleManagementIdleSettingsArgs(**idle)),
            default_resource_spec=aws.sagemaker.DomainDefaultUserSettingsJupyterLabAppSettingsDefaultResourceSpecArgs(
                instance_type=machine),
        )
        editor = aws.sagemaker.DomainDefaultUserSettingsCodeEditorAppSettingsArgs(
            app_lifecycle_management=aws.sagemaker.DomainDefaultUserSettingsCodeEditorAppSettingsAppLifecycleManagementArgs(
                idle_settings=aws.sagemaker.DomainDefaultUserSettingsCodeEditorAppSettingsAppLifecycleManagementIdleSettingsArgs(**idle)),
        )
        domain = aws.sagemaker.Domain(
            f"{name}-studio",
            domain_name=f"{ctx.base_name}-studio",
            auth_mode="IAM",
            vpc_id=ctx.network.network_id,
            subnet_ids=ctx.network.private_subnet_ids,
            app_network_access_type="VpcOnly",
            app_security_group_management="Service",
            kms_key_id=ctx.storage.encryption_key_id,
            default_user_settings=aws.sagemaker.DomainDefaultUserSettingsArgs(
                execution_role=platform_role.arn,
                security_groups=[group.id],
                studio_web_portal="ENABLED",
                default_landing_uri="studio::",
                jupyter_lab_app_settings=jupyter,
                code_editor_app_settings=editor,
            ),
            default_space_settings=aws.sagemaker.DomainDefaultSpaceSettingsArgs(
                execution_role=platform_role.arn,
                security_groups=[group.id],
                jupyter_lab_app_settings=aws.sagemaker.DomainDefaultSpaceSettingsJupyterLabAppSettingsArgs(
                    app_lifecycle_management=aws.sagemaker.DomainDefaultSpaceSettingsJupyterLabAppSettingsAppLifecycleManagementArgs(
                        idle_settings=aws.sagemaker.DomainDefaultSpaceSettingsJupyterLabAppSettingsAppLifecycleManagementIdleSettingsArgs(**idle)),
                ),
            ),
            retention_policy=aws.sagemaker.DomainRetentionPolicyArgs(
                home_efs_file_system="Retain" if ctx.deletion_protection else "Delete"),
            tags=ctx.tags(),
            # The domain holds the users' home directories (EFS).
            opts=ctx.stateful(self),
        )
        self._studio_access(domain, platform_role, teams)
        environments = {team: self._profile(domain, team, role_arn, group) for team, role_arn in teams.items()}
        if not teams:
            environments[PLATFORM_ENVIRONMENT] = self._profile(domain, PLATFORM_ENVIRONMENT, platform_role.arn, group)
        self.notebooks = dict_output(environments)
        self.register_contract()

    def _teams(self) -> dict[str, pulumi.Output[str]]:
        """Team -> its role ARN, for the teams that get a notebook environment."""
        ctx = self._ctx
        assert ctx.spec is not None
        if ctx.teams is None or not ctx.spec.teams:
            return {}
        wanted = self._spec.teams if self._spec.teams is not None else [team.name for team in ctx.spec.teams]
        return {team: team_identity(ctx.teams.teams, team) for team in wanted}

    def _security_group(self) -> aws.ec2.SecurityGroup:
        ctx = self._ctx
        assert ctx.network is not None and ctx.spec is not None
        return aws.ec2.SecurityGroup(
            f"{self._name}-notebooks",
            name=f"{ctx.base_name}-notebooks",
            description=f"mlfabric {ctx.base_name}: Studio apps (no ingress; HTTPS out, NFS to the VPC)",
            vpc_id=ctx.network.network_id,
            egress=[
                aws.ec2.SecurityGroupEgressArgs(description="HTTPS to AWS APIs and package mirrors through the VPC",
                                                protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"]),
                aws.ec2.SecurityGroupEgressArgs(description="NFS to the domain's EFS home directories",
                                                protocol="tcp", from_port=NFS_PORT, to_port=NFS_PORT,
                                                cidr_blocks=[ctx.spec.network.cidr]),
            ],
            tags=ctx.tags({"Name": f"{ctx.base_name}-notebooks"}),
            opts=self._child,
        )

    def _platform_role(self, *, with_data: bool) -> aws.iam.Role:
        ctx = self._ctx
        assert ctx.storage is not None
        storage = ctx.storage
        trust = self._account.apply(lambda account: with_sagemaker_trust(policy_document([]), account))
        inline: list[aws.iam.RoleInlinePolicyArgs] = []
        if with_data:
            data = pulumi.Output.all(storage.bucket_ids, storage.encryption_key_id).apply(
                lambda a: platform_data_policy(a[0].get("datasets"), a[0].get("artifacts"), a[1], ctx.region))
            inline.append(aws.iam.RoleInlinePolicyArgs(name="notebooks", policy=pulumi.Output.json_dumps(data)))
        return aws.iam.Role(
            f"{self._name}-notebooks",
            name=f"{ctx.base_name}-notebooks",
            description=f"mlfabric {ctx.base_name}: the Studio domain's default execution role",
            assume_role_policy=pulumi.Output.json_dumps(trust),
            inline_policies=inline or None,
            tags=ctx.tags({"mlfabric-workload": "notebooks"}),
            opts=self._child,
        )

    def _studio_access(
        self, domain: aws.sagemaker.Domain, platform_role: aws.iam.Role, teams: dict[str, pulumi.Output[str]]
    ) -> None:
        ctx = self._ctx
        document = pulumi.Output.all(self._partition, self._account, domain.id).apply(
            lambda a: studio_policy(a[0], ctx.region, a[1], a[2]))
        policy = aws.iam.Policy(
            f"{self._name}-studio",
            name=f"{ctx.base_name}-studio",
            description=f"mlfabric {ctx.base_name}: an execution role's own apps and spaces in the Studio domain",
            policy=pulumi.Output.json_dumps(document),
            tags=ctx.tags(),
            opts=self._child,
        )
        roles: dict[str, pulumi.Input[str]] = {PLATFORM_ENVIRONMENT: platform_role.name}
        roles.update({team: arn.apply(role_name_of) for team, arn in teams.items()})
        for who, role in roles.items():
            aws.iam.RolePolicyAttachment(f"{self._name}-studio-{who}", role=role, policy_arn=policy.arn,
                                         opts=self._child)
        tracking: dict[str, pulumi.Output[str]] | None = getattr(ctx.tracking, "policy_arns", None)
        if tracking and not teams:
            # Team roles already get tracking access from the tracking concern.
            aws.iam.RolePolicyAttachment(f"{self._name}-notebooks-mlflow-use", role=platform_role.name,
                                         policy_arn=tracking["use"], opts=self._child)

    def _profile(
        self, domain: aws.sagemaker.Domain, environment: str, role_arn: pulumi.Input[str], group: aws.ec2.SecurityGroup
    ) -> pulumi.Output[str]:
        ctx = self._ctx
        profile_name = environment if environment == PLATFORM_ENVIRONMENT else f"team-{environment}"
        team_tag = {} if environment == PLATFORM_ENVIRONMENT else {"mlfabric-team": environment}
        profile = aws.sagemaker.UserProfile(
            f"{self._name}-studio-{environment}",
            domain_id=domain.id,
            user_profile_name=profile_name,
            user_settings=aws.sagemaker.UserProfileUserSettingsArgs(execution_role=role_arn, security_groups=[group.id]),
            tags=ctx.tags(team_tag),
            opts=self._child,
        )
        return profile.arn
