"""The AWS provider for a platform: pinned to the spec's region (and account, when given)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlfabric.components.spec import PlatformSpec


def create_provider(name: str, spec: PlatformSpec, parent: pulumi.Resource) -> pulumi.ProviderResource:
    account = spec.aws.account_id if spec.aws else None
    return aws.Provider(
        f"{name}-aws",
        region=spec.region,
        # Refuse to deploy a stack into the wrong account when the spec names one.
        allowed_account_ids=[account] if account else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )

