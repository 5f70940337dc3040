"""The Azure (azure-native) provider for a platform.

The provider is pinned to the spec's region (``location``) and, when the spec names one, to its
subscription, so a stack can never deploy into whatever subscription the CLI happens to be logged
in to. The resource group and telemetry every concern needs are in ``prerequisites.py``.
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from mlfabric.components.spec import PlatformSpec


def create_provider(name: str, spec: PlatformSpec, parent: pulumi.Resource) -> pulumi.ProviderResource:
    """The platform's azure-native provider ``<name>-azure``, a child of ``parent`` (the platform)."""
    subscription = spec.azure.subscription_id if spec.azure else None
    return azure_native.Provider(
        f"{name}-azure",
        location=spec.region,
        # Refuse to deploy a stack into the wrong subscription when the spec names one.
        subscription_id=subscription,
        opts=pulumi.ResourceOptions(parent=parent),
    )

