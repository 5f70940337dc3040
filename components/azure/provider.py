"""The Azure (azure-native) provider for a platform, and the platform's resource group.

The provider is pinned to the spec's region (``location``) and, when the spec names one, to its
subscription, so a stack can never deploy into whatever subscription the CLI happens to be logged
in to. Every Azure resource lives in a resource group; the platform gets exactly one,
``rg-<name>-<environment>``, created here before any concern is built and handed on through the
context (``ctx.resource_group_name``).
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import PlatformSpec


def create_provider(name: str, spec: PlatformSpec, parent: pulumi.Resource) -> pulumi.ProviderResource:
    subscription = spec.azure.subscription_id if spec.azure else None
    return azure_native.Provider(
        f"{name}-azure",
        location=spec.region,
        # Refuse to deploy a stack into the wrong subscription when the spec names one.
        subscription_id=subscription,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def shared_handles(
    name: str, spec: PlatformSpec, ctx: PlatformContext, opts: pulumi.ResourceOptions
) -> dict[str, object]:
    """Create the platform's resource group; every Azure concern declares its resources in it."""
    group = azure_native.resources.ResourceGroup(
        f"{name}-rg",
        resource_group_name=f"rg-{spec.base_name}",
        location=spec.region,
        tags=ctx.tags(),
        # Deleting a resource group deletes everything in it, retained resources included: in
        # prod it is protected and retained like the stateful resources it holds. The caller's
        # opts (parent, provider) are kept.
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                protect=spec.deletion_protection, retain_on_delete=spec.deletion_protection
            ),
        ),
    )
    return {"resource_group_name": group.name}
