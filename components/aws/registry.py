"""Registries on AWS: ECR repositories for container images and SageMaker model package groups.

Creates, when the spec lists repositories: one customer-managed ``aws:kms/key:Key`` (rotation on)
and its alias; per repository an ``aws:ecr/repository:Repository`` (named
``<platform>-<environment>/<repository>``, scan on push, KMS encryption with the key, tags
IMMUTABLE unless the spec allows overwriting) and an ``aws:ecr/lifecyclePolicy:LifecyclePolicy``
expiring untagged images. Per spec model an ``aws:sagemaker/modelPackageGroup:ModelPackageGroup``
(``<platform>-<environment>-<model>``), the registry model versions are registered into.

A repository or model renamed in the spec (``registry.renamed_from``) keeps its resources (aliases)
and its physical name (the first one): ECR repositories and model package groups cannot be renamed.

Repositories, their key and the model package groups are stateful: protected and retained when the
spec asks for deletion protection, and only force-deletable (images and all) without it.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mlfabric.components.aws.common import concern_key, dict_output, renamed
from mlfabric.components.concerns import RegistryOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.naming import original_name
from mlfabric.components.spec import RegistrySpec


def repository_name(base_name: str, repository: str) -> str:
    """Physical ECR repository name: the platform's repositories share one namespace prefix."""
    return f"{base_name}/{repository}"


def model_package_group_name(base_name: str, model: str) -> str:
    """Physical SageMaker model package group name (at most 53 of the 63 characters allowed)."""
    return f"{base_name}-{model}"


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


class AwsRegistry(RegistryOutputs):
    """KMS-encrypted, scanned ECR repositories and SageMaker model package groups."""

    type_token = "mlfabric:registry:AwsRegistry"

    def __init__(
        self,
        name: str,
        spec: RegistrySpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        repositories = self._repositories() if spec.repositories else {}
        groups = {
            model: aws.sagemaker.ModelPackageGroup(
                f"{name}-model-{model}",
                # A renamed model keeps its group (and every version registered in it).
                model_package_group_name=model_package_group_name(ctx.base_name, self._first_name(model)),
                model_package_group_description=f"mlfabric {ctx.base_name}: versions of model {model}",
                tags=ctx.tags({"mlfabric-model": model}),
                opts=renamed(f"{name}-model-{model}", model, spec.renamed_from.get(model, []), ctx.stateful(self)),
            )
            for model in spec.models
        }

        self.registry_urls = dict_output({k: r.repository_url for k, r in repositories.items()})
        self.model_registry_ids = dict_output({k: g.arn for k, g in groups.items()})
        self.register_contract()

    def _first_name(self, item: str) -> str:
        """The name a repository or model was created with (physical names keep it after a rename)."""
        return original_name(item, self._spec.renamed_from.get(item, []))

    def _repositories(self) -> dict[str, aws.ecr.Repository]:
        """The spec's ECR repositories, encrypted with one registry key."""
        name, spec, ctx = self._name, self._spec, self._ctx
        key = concern_key(self, ctx, f"{name}-registry", "container image encryption", alias="registry")
        lifecycle = _lifecycle_policy(spec.untagged_image_retention_days)
        repositories: dict[str, aws.ecr.Repository] = {}
        for repository in spec.repositories:
            logical = f"{name}-repo-{repository}"
            previous = spec.renamed_from.get(repository, [])
            repo = aws.ecr.Repository(
                logical,
                # An ECR repository cannot be renamed: a renamed one keeps its first name (and images).
                name=repository_name(ctx.base_name, self._first_name(repository)),
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
                opts=renamed(logical, repository, previous, ctx.stateful(self)),
            )
            aws.ecr.LifecyclePolicy(logical, repository=repo.name, policy=lifecycle,
                                    opts=renamed(logical, repository, previous, self._child))
            repositories[repository] = repo
        return repositories
