"""What every component receives besides its own spec section: who, where, and handles to the
prerequisites other concerns built. Only ``MLPlatform`` creates or extends a context."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi

from mlfabric.components import naming
from mlfabric.components.catalog import Cloud
from mlfabric.components.kit import kit_for

if TYPE_CHECKING:
    from mlfabric.components.concerns import (
        BatchOutputs,
        ClusterOutputs,
        MonitoringOutputs,
        NetworkOutputs,
        NotebooksOutputs,
        RbacOutputs,
        RegistryOutputs,
        ServingOutputs,
        StorageOutputs,
        TeamsOutputs,
        TrackingOutputs,
    )
    from mlfabric.components.spec import MonitoringSpec, PlatformSpec


@dataclass(frozen=True)
class PlatformContext:
    """Identity, placement and cross-concern handles of one platform."""

    platform: str
    environment: str
    cloud: Cloud
    region: str
    base_name: str
    global_tags: Mapping[str, str]
    deletion_protection: bool
    # GCP project / Azure subscription / AWS account the platform lives in, when known up front.
    account: str | None = None
    # The whole spec, for the few settings a concern reads from another section (serving's alarm
    # thresholds live under `monitoring`, GKE's release channel under `gcp`).
    spec: PlatformSpec | None = field(default=None, compare=False)
    # What the cloud's kit creates before any concern (Azure: the resource group and the telemetry
    # workspace); each cloud's home reads its own type from here.
    prerequisites: object | None = field(default=None, compare=False)
    # Handles filled in by MLPlatform as concerns are built, each after the concerns it needs.
    network: NetworkOutputs | None = field(default=None, compare=False)
    storage: StorageOutputs | None = field(default=None, compare=False)
    registry: RegistryOutputs | None = field(default=None, compare=False)
    cluster: ClusterOutputs | None = field(default=None, compare=False)
    teams: TeamsOutputs | None = field(default=None, compare=False)
    tracking: TrackingOutputs | None = field(default=None, compare=False)
    notebooks: NotebooksOutputs | None = field(default=None, compare=False)
    batch: BatchOutputs | None = field(default=None, compare=False)
    monitoring: MonitoringOutputs | None = field(default=None, compare=False)
    serving: ServingOutputs | None = field(default=None, compare=False)
    rbac: RbacOutputs | None = field(default=None, compare=False)

    @classmethod
    def from_spec(cls, spec: PlatformSpec, account: str | None = None) -> PlatformContext:
        return cls(
            platform=spec.name,
            environment=spec.environment,
            cloud=spec.cloud,
            region=spec.region,
            base_name=spec.base_name,
            global_tags=dict(spec.tags),
            deletion_protection=spec.deletion_protection,
            account=account,
            spec=spec,
        )

    @property
    def monitoring_spec(self) -> MonitoringSpec:
        """Alarm thresholds and retention (the spec's ``monitoring`` section, or its defaults)."""
        from mlfabric.components.spec import MonitoringSpec

        return self.spec.monitoring if self.spec is not None else MonitoringSpec()

    def with_handles(self, **handles: object) -> PlatformContext:
        """A copy with more prerequisites available to the concerns built next."""
        return dataclasses.replace(self, **handles)  # type: ignore[arg-type]

    def tags(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Merged tags for one resource, rendered as the cloud's kit takes them (labels on GCP)."""
        merged = naming.merge_tags(
            self.global_tags, extra, naming.identity_tags(self.platform, self.environment)
        )
        return kit_for(self.cloud).render_tags(merged)

    def stateful(self, parent: pulumi.Resource, **kwargs: object) -> pulumi.ResourceOptions:
        """Options for a resource that holds data: protected and retained when the spec says so."""
        return pulumi.ResourceOptions(
            parent=parent,
            protect=self.deletion_protection,
            retain_on_delete=self.deletion_protection,
            **kwargs,  # type: ignore[arg-type]
        )
