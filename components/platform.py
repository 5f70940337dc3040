"""MLPlatform: composes one component per concern for the spec's cloud.

The cloud's kit (``components/<cloud>/kit.py``) names the component class of each concern; each
class declares the concerns it reads (``needs``), and the platform builds them in that order,
handing each one's outputs on through the context. Only the chosen cloud's modules are imported,
so a single-cloud stack never loads another cloud's SDK. Which concerns exist is decided here and
nowhere else.
"""

from __future__ import annotations

from typing import Any

import pulumi

from mlfabric.components.context import PlatformContext
from mlfabric.components.kit import build_order, kit_for
from mlfabric.components.spec import PlatformSpec


class MLPlatform(pulumi.ComponentResource):
    """A complete ML platform on one cloud, from one spec.

    Public results are the stack outputs (`stack_outputs()`): identity (cloud, region, environment)
    and, for every concern built, the outputs of its contract (``components/concerns.py``).
    """

    cloud: pulumi.Output[str]
    region: pulumi.Output[str]
    environment: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: PlatformSpec,
        account: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlfabric:platform:MLPlatform", name, None, opts)
        kit = kit_for(spec.cloud)
        provider = kit.create_provider(name, spec, self)
        child = pulumi.ResourceOptions(parent=self, providers=[provider])
        ctx = kit.prerequisites(name, spec, PlatformContext.from_spec(spec, account=account), child)

        self.cloud = pulumi.Output.from_input(spec.cloud)
        self.region = pulumi.Output.from_input(spec.region)
        self.environment = pulumi.Output.from_input(spec.environment)
        self._exports: dict[str, Any] = {}
        for component_class in build_order(c for c in kit.components() if c.wanted(spec)):
            component = component_class(name, getattr(spec, component_class.section), ctx, child)
            ctx = ctx.with_handles(**{component_class.concern: component})
            self._exports.update(component.stack_outputs())
        self.register_outputs(self.stack_outputs())

    def stack_outputs(self) -> dict[str, Any]:
        """What `pulumi stack output --json` shows; CI jobs and `mlfabric verify` read these."""
        return {"cloud": self.cloud, "region": self.region, "environment": self.environment, **self._exports}
