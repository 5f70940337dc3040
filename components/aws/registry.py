"""Registries on AWS: ECR repositories for container images and SageMaker model package groups.

Creates, when the spec lists repositories: one customer-managed ``aws:kms/key:Key`` (rotation on)
and its alias; per repository an ``aws:ecr/repository:Repository`` (named
``<platform>-<environment>/<repository>``, scan on push, KMS encryption with the key, tags
IMMUTABLE unless the spec allows overwriting) and an ``aws:ecr/lifecyclePolicy:LifecyclePolicy``
expiring untagged images. Per spec model an ``aws:sagemaker/modelPackageGroup:ModelPackageGroup``
(``<platform>-<environment>-<model>``), the registry model versions are registered into.

Repositories, their key and the model package groups are stateful: protected and retained when the
spec asks for deletion protection, and only force-deletable (images and all) without it.
"""

from __future__ import annotations

import json
import re

import pulumi
import pulumi_aws as aws

from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import RegistrySpec


def repository_name(base_name: str, repository: str) -> str:
    """Physical ECR repository name: the platform's repositories share one namespace prefix."""
    return f"{base_name}/{repository}"


def model_package_group_name(base_name: str, model: str) -> str:
    """Physical SageMaker model package group name (at most 53 of the 63 characters allowed)."""
    return f"{base_name}-{model}"


_ECR_URL = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")


def ecr_repository_arn(url: str, partition: str) -> str | None:
    """The ECR repository ARN a repository or image URL points to (None outside ECR)."""
    match = _ECR_URL.match(url)
    if match is None:
        return None
    account, region, repository = match.groups()
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repository}"


def _lifecycle_policy(untagged_days: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images {untagged_days} days after push",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_days,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


def _dict_output(values: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    # Output.all() of nothing resolves to a list, not an empty dict.
    if not values:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(**values)  # type: ignore[return-value]


class AwsRegistry(pulumi.ComponentResource):
    """KMS-encrypted, scanned ECR repositories and SageMaker model package groups."""

    registry_urls: pulumi.Output[dict[str, str]]
    model_registry_ids: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        spec: RegistrySpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlfabric:registry:AwsRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        repositories: dict[str, aws.ecr.Repository] = {}
        if spec.repositories:
            key = aws.kms.Key(
                f"{name}-registry",
                description=f"mlfabric {ctx.base_name}: container image encryption",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                tags=ctx.tags(),
                opts=ctx.stateful(self),
            )
            aws.kms.Alias(
                f"{name}-registry",
                name=f"alias/mlfabric/{ctx.base_name}/registry",
                target_key_id=key.key_id,
                opts=child,
            )
            lifecycle = _lifecycle_policy(spec.untagged_image_retention_days)
            for repository in spec.repositories:
                logical = f"{name}-repo-{repository}"
                repo = aws.ecr.Repository(
                    logical,
                    name=repository_name(ctx.base_name, repository),
                    image_tag_mutability="IMMUTABLE" if spec.immutable_tags else "MUTABLE",
                    image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                        scan_on_push=spec.scan_on_push,
                    ),
                    encryption_configurations=[
                        aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=key.arn)
                    ],
                    # Deleting a repository that still holds images needs force_delete; a protected
                    # platform must never lose its images to a `pulumi destroy`.
                    force_delete=not ctx.deletion_protection,
                    tags=ctx.tags({"mlfabric-repository": repository}),
                    opts=ctx.stateful(self),
                )
                aws.ecr.LifecyclePolicy(logical, repository=repo.name, policy=lifecycle, opts=child)
                repositories[repository] = repo

        groups = {
            model: aws.sagemaker.ModelPackageGroup(
                f"{name}-model-{model}",
                model_package_group_name=model_package_group_name(ctx.base_name, model),
                model_package_group_description=f"mlfabric {ctx.base_name}: versions of model {model}",
                tags=ctx.tags({"mlfabric-model": model}),
                opts=ctx.stateful(self),
            )
            for model in spec.models
        }

        self.registry_urls = _dict_output({k: r.repository_url for k, r in repositories.items()})
        self.model_registry_ids = _dict_output({k: g.arn for k, g in groups.items()})
        self.register_outputs(
            {"registry_urls": self.registry_urls, "model_registry_ids": self.model_registry_ids}
        )
