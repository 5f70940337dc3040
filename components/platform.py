"""MLPlatform: composes one component per concern for the spec's cloud.

Only the chosen cloud's modules are imported (``importlib``), so a single-cloud stack never loads
another cloud's SDK. Concerns are built in dependency order and hand their outputs on through the
context; which concerns exist is decided here and nowhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

import pulumi

from components.context import PlatformContext
from components.spec import PlatformSpec

# concern -> class name per cloud; module is components.<concern>.<cloud>
_COMPONENTS: Final[dict[str, dict[str, str]]] = {
    "storage": {"aws": "AwsStorage", "gcp": "GcpStorage", "azure": "AzureStorage"},
}


# Every concern's component takes (name, spec section, context, options).
ComponentFactory = Callable[[str, Any, PlatformContext, pulumi.ResourceOptions], pulumi.ComponentResource]


def component_class(concern: str, cloud: str) -> ComponentFactory:
    """The ComponentResource class that implements ``concern`` on ``cloud``."""
    module = importlib.import_module(f"components.{concern}.{cloud}")
    cls: ComponentFactory = getattr(module, _COMPONENTS[concern][cloud])
    return cls


class MLPlatform(pulumi.ComponentResource):
    """A complete ML platform on one cloud, from one spec."""

    cloud: pulumi.Output[str]
    region: pulumi.Output[str]
    environment: pulumi.Output[str]
    bucket_names: pulumi.Output[dict[str, str]]
    bucket_urls: pulumi.Output[dict[str, str]]
    bucket_ids: pulumi.Output[dict[str, str]]
    storage_key_id: pulumi.Output[str]
    access_log_bucket: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: PlatformSpec,
        account: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlfabric:platform:MLPlatform", name, None, opts)
        provider_module = importlib.import_module(f"components.providers.{spec.cloud}")
        provider = provider_module.create_provider(name, spec, self)
        child = pulumi.ResourceOptions(parent=self, providers=[provider])
        ctx = PlatformContext.from_spec(spec, account=account)
        # Cloud-wide prerequisites every concern needs (Azure: the resource group).
        ctx = ctx.with_handles(**provider_module.shared_handles(name, spec, ctx, child))

        storage = component_class("storage", spec.cloud)(name, spec.storage, ctx, child)
        ctx = ctx.with_handles(storage=storage)
        self._warn_unbuilt_sections(spec)

        self.cloud = pulumi.Output.from_input(spec.cloud)
        self.region = pulumi.Output.from_input(spec.region)
        self.environment = pulumi.Output.from_input(spec.environment)
        self.bucket_names = storage.bucket_names  # type: ignore[attr-defined]
        self.bucket_urls = storage.bucket_urls  # type: ignore[attr-defined]
        self.bucket_ids = storage.bucket_ids  # type: ignore[attr-defined]
        self.storage_key_id = storage.encryption_key_id  # type: ignore[attr-defined]
        self.access_log_bucket = storage.access_log_bucket  # type: ignore[attr-defined]
        self.register_outputs(self.stack_outputs())

    def _warn_unbuilt_sections(self, spec: PlatformSpec) -> None:
        """Say plainly which spec sections this version does not build yet on the spec's cloud."""
        for section in ("training", "registry", "serving"):
            if getattr(spec, section) is not None and section not in _COMPONENTS:
                pulumi.log.warn(f"{section}: not yet built on {spec.cloud} by this mlfabric version; nothing declared", self)

    def stack_outputs(self) -> dict[str, Any]:
        """What `pulumi stack output --json` shows; CI jobs and `mlfabric verify` read these."""
        return {
            "cloud": self.cloud,
            "region": self.region,
            "environment": self.environment,
            "bucket_names": self.bucket_names,
            "bucket_urls": self.bucket_urls,
            "bucket_ids": self.bucket_ids,
            "storage_key_id": self.storage_key_id,
            "access_log_bucket": self.access_log_bucket,
        }
