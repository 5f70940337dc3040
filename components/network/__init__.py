"""Network: the outputs every cloud's network component exposes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pulumi


@runtime_checkable
class NetworkOutputs(Protocol):
    """What the cluster, serving and private endpoints read from the network."""

    # VPC id (AWS), VPC network id (GCP), VNet id (Azure)
    network_id: pulumi.Output[str]
    # subnets workloads run in (one per zone on AWS; the one regional subnet on GCP; AKS subnet on Azure)
    private_subnet_ids: pulumi.Output[list[str]]
    # subnets for internet-facing load balancers and NAT ([] where the cloud has no such subnet)
    public_subnet_ids: pulumi.Output[list[str]]
