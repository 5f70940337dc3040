"""The GCP provider for a platform: pinned to the spec's region (and project, when the spec names one).

An explicit provider does not read the stack's ``gcp:project`` config (only the default provider
does), so when the spec omits ``gcp.project`` the provider falls back to the environment
(``GOOGLE_PROJECT``...) and components pass ``project=ctx.account`` — which ``mlfabric.components.program``
fills from ``gcp:project`` — on every resource whose project matters.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlfabric.components.spec import PlatformSpec


def create_provider(name: str, spec: PlatformSpec, parent: pulumi.Resource) -> pulumi.ProviderResource:
    """``<name>-gcp``, a child of ``parent``: the provider every GCP concern of the platform uses."""
    project = spec.gcp.project if spec.gcp else None
    return gcp.Provider(
        f"{name}-gcp",
        region=spec.region,
        project=project,
        opts=pulumi.ResourceOptions(parent=parent),
    )

