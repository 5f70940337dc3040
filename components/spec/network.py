"""The spec's `network` section."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from mlfabric.components.spec.base import Cidr, SpecModel, SpecProblem, env_default

# --- network -----------------------------------------------------------------------------------


class NetworkSpec(SpecModel):
    """The platform's private network."""

    cidr: Cidr = Field("10.0.0.0/16", description="Address space of the VPC/VNet. Omitted: 10.0.0.0/16.")
    availability_zones: int = env_default(
        dev=2, staging=2, prod=3, ge=1, le=6,
        description="Zones the subnets and node groups span.",
    )
    nat_gateways: Literal["single", "per-zone"] = env_default(
        dev="single", staging="single", prod="per-zone",
        description="One NAT gateway for the platform, or one per zone (no zonal single point "
        "of failure).",
    )
    flow_logs: bool = env_default(
        dev=False, staging=False, prod=True, description="Record VPC/VNet flow logs."
    )
    private_endpoints: bool = env_default(
        dev=False, staging=True, prod=True,
        description="Reach storage, registries and ML services through private endpoints.",
    )
    existing_network_id: str | None = Field(
        None,
        min_length=3,
        description="Reuse this VPC/VNet (id) instead of creating one. Omitted: a new network.",
    )

    @model_validator(mode="after")
    def _cidr_fits_zones(self) -> NetworkSpec:
        prefix = ipaddress.ip_network(self.cidr).prefixlen
        if prefix > 20:
            raise SpecProblem(
                [(("cidr",), f"must be /20 or larger to hold public and private subnets per zone (got {self.cidr!r})")]
            )
        return self

