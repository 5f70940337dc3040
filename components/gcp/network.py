"""GCP network: a custom-mode VPC with one regional subnet for the training cluster, Cloud NAT and a
minimal firewall.

Creates, for a new network (``network.existing_network_id`` omitted):

- ``gcp:projects/service:Service`` for the Compute Engine API (left enabled on destroy: other
  concerns and other stacks use it);
- ``gcp:compute/network:Network`` in custom mode (no auto-created subnets), regional routing;
- one ``gcp:compute/subnetwork:Subnetwork`` in the platform region carved from ``network.cidr``:
  the primary range holds the nodes (and Cloud Run's direct VPC egress), secondary ranges ``pods``
  and ``services`` hold GKE's alias IPs (``subnet_ranges``). Private Google Access is on, so nodes
  without external addresses reach Google APIs; with ``network.flow_logs`` the subnet records VPC
  flow logs;
- a ``gcp:compute/router:Router`` and a ``gcp:compute/routerNat:RouterNat`` for the subnet's egress
  (all its ranges), logging translation errors;
- two ``gcp:compute/firewall:Firewall`` rules: node and pod ranges may reach each other (tcp, udp,
  icmp), and an explicit lowest-priority deny of all other ingress, logged when ``flow_logs`` is on.
  GKE adds the rules its control plane needs (kubelet, webhooks) itself; nothing is opened to the
  internet.

Reusing a network (``network.existing_network_id``, a network name or its self link
``projects/P/global/networks/N``): the network is read with ``getNetwork``, and the subnet with
``getSubnetwork``; it must be named ``<platform>-<environment>``, live in the platform region and
carry the secondary ranges ``pods`` and ``services`` (the convention this module creates). What can
be added to a network the platform does not own is added: with ``flow_logs``, a
``gcp:networkmanagement/vpcFlowLogsConfig:VpcFlowLogsConfig`` on that subnet (and the Network
Management API). What cannot is refused by the spec (``capabilities.py``, case "with
existing_network_id"): an explicit ``cidr``, a ``nat_gateways`` other than the environment's
default (egress is the network owner's), and ``private_endpoints`` (Private Google Access is a
setting of the subnet: turn it on there and set ``private_endpoints: false``).

How GCP honours the cloud-neutral knobs: Cloud NAT is a regional, zone-redundant managed service, so
both ``nat_gateways`` values get NAT without a zonal single point of failure; a GCP subnet is
regional and spans every zone, so ``availability_zones`` is honoured by the cluster (the zones its
node pools span). ``private_endpoints``: Private Google Access is on for the platform subnet (nodes
and Cloud Run egress reach Google APIs without public addresses); Private Service Connect
endpoints for Google APIs are not declared.

The secondary range names and the API name live in ``common.py``: the cluster reads the same ranges.
"""

from __future__ import annotations

from typing import Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components.concerns import NetworkOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import (
    COMPUTE_API,
    PODS_RANGE,
    SERVICES_RANGE,
    enable_apis,
    subnet_ranges,
)
from mlfabric.components.spec import NetworkSpec

# Flow logs: 5-second aggregation, half the flows sampled, all metadata (the GCP defaults are
# coarser and drop metadata).
_FLOW_LOG_INTERVAL: Final = "INTERVAL_5_SEC"
_FLOW_LOG_SAMPLING: Final = 0.5
NETWORK_MANAGEMENT_API: Final = "networkmanagement.googleapis.com"
# The allow rule at GCP's default priority; the deny rule last, just before the implied deny-all (65535).
_INTERNAL_PRIORITY: Final = 1000
_DENY_PRIORITY: Final = 65534


def _network_reference(existing: str, project: str | None) -> tuple[str, str | None]:
    """(name, project) of an existing network given by id, self link or bare name."""
    parts = existing.rstrip("/").split("/")
    if "networks" in parts and "projects" in parts:
        return parts[parts.index("networks") + 1], parts[parts.index("projects") + 1]
    return parts[-1], project


class GcpNetwork(NetworkOutputs):
    """Custom-mode VPC, one regional subnet with GKE secondary ranges, Cloud NAT, minimal firewall."""

    type_token = "mlfabric:network:GcpNetwork"

    def __init__(self, name: str, spec: NetworkSpec, ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, spec, ctx, opts)
        if spec.existing_network_id is not None:
            self._reuse(spec.existing_network_id)
        else:
            self._create()
        # GCP subnets are private by construction (no public IPs on nodes); there is no public tier.
        self.public_subnet_ids = pulumi.Output.from_input([])
        self.register_contract()

    def _reuse(self, existing: str) -> None:
        ctx = self._ctx
        invoke = pulumi.InvokeOutputOptions(parent=self)
        network_name, project = _network_reference(existing, ctx.account)
        network = gcp.compute.get_network_output(name=network_name, project=project, opts=invoke)
        subnet = gcp.compute.get_subnetwork_output(
            name=ctx.base_name, region=ctx.region, project=project, opts=invoke
        )
        self.network_id = network.id
        self.private_subnet_ids = subnet.id.apply(lambda subnet_id: [subnet_id])
        if self._spec.flow_logs:
            self._existing_flow_logs(subnet.id)

    def _existing_flow_logs(self, subnet_id: pulumi.Output[str]) -> None:
        """Flow logs on a subnet the platform does not own: a Network Management VPC Flow Logs
        configuration (the subnet's own log_config belongs to whoever manages the subnet)."""
        name, ctx = self._name, self._ctx
        apis = enable_apis(name, ctx, self, NETWORK_MANAGEMENT_API)
        gcp.networkmanagement.VpcFlowLogsConfig(
            f"{name}-flow-logs",
            project=ctx.account,
            location="global",
            vpc_flow_logs_config_id=f"{ctx.base_name}-flow-logs",
            description=f"mlfabric {ctx.base_name}: flow logs of the platform subnet",
            subnet=subnet_id,
            aggregation_interval=_FLOW_LOG_INTERVAL,
            flow_sampling=_FLOW_LOG_SAMPLING,
            metadata="INCLUDE_ALL_METADATA",
            state="ENABLED",
            labels=ctx.tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(apis.values())),
        )

    def _create(self) -> None:
        name, spec, ctx = self._name, self._spec, self._ctx
        apis = enable_apis(name, ctx, self, COMPUTE_API)
        network = gcp.compute.Network(
            name,
            project=ctx.account,
            description=f"mlfabric {ctx.base_name}: platform network",
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(apis.values())),
        )
        nodes, pods, services = subnet_ranges(spec.cidr)
        subnet = gcp.compute.Subnetwork(
            name,
            project=ctx.account,
            region=ctx.region,
            network=network.id,
            description=f"mlfabric {ctx.base_name}: nodes, pods and services of the platform",
            ip_cidr_range=nodes,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=pods),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE, ip_cidr_range=services),
            ],
            # Nodes have no external addresses: Google APIs (GCS, Artifact Registry) over Google's network.
            private_ip_google_access=True,
            stack_type="IPV4_ONLY",
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval=_FLOW_LOG_INTERVAL,
                flow_sampling=_FLOW_LOG_SAMPLING,
                metadata="INCLUDE_ALL_METADATA",
            )
            if spec.flow_logs
            else None,
            opts=self._child,
        )
        self._nat(network, subnet)
        self._firewall(network, [nodes, pods])
        self.network_id = network.id
        self.private_subnet_ids = subnet.id.apply(lambda subnet_id: [subnet_id])

    def _nat(self, network: gcp.compute.Network, subnet: gcp.compute.Subnetwork) -> None:
        """Cloud NAT (and its router) for every range of the platform subnet, logging translation errors."""
        name, ctx = self._name, self._ctx
        router = gcp.compute.Router(
            name,
            project=ctx.account,
            region=ctx.region,
            network=network.id,
            description=f"mlfabric {ctx.base_name}: Cloud NAT for the platform subnet",
            opts=self._child,
        )
        gcp.compute.RouterNat(
            name,
            project=ctx.account,
            region=ctx.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[
                gcp.compute.RouterNatSubnetworkArgs(name=subnet.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])
            ],
            # Image pulls of GPU nodes open many connections at once: let ports grow per VM.
            enable_dynamic_port_allocation=True,
            enable_endpoint_independent_mapping=False,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=self._child,
        )

    def _firewall(self, network: gcp.compute.Network, internal: list[str]) -> None:
        """Node and pod ranges reach each other; every other ingress is denied (explicitly, to log it)."""
        self._ingress_rule(
            network, "internal", "nodes and pods reach each other", _INTERNAL_PRIORITY, internal,
            allows=[gcp.compute.FirewallAllowArgs(protocol=p) for p in ("tcp", "udp", "icmp")],
        )
        self._ingress_rule(
            network, "deny-ingress", "nothing else gets in (explicit, so it can be logged)", _DENY_PRIORITY,
            ["0.0.0.0/0"],
            denies=[gcp.compute.FirewallDenyArgs(protocol="all")],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA")
            if self._spec.flow_logs
            else None,
        )

    def _ingress_rule(
        self,
        network: gcp.compute.Network,
        suffix: str,
        purpose: str,
        priority: int,
        source_ranges: list[str],
        *,
        allows: list[gcp.compute.FirewallAllowArgs] | None = None,
        denies: list[gcp.compute.FirewallDenyArgs] | None = None,
        log_config: gcp.compute.FirewallLogConfigArgs | None = None,
    ) -> gcp.compute.Firewall:
        return gcp.compute.Firewall(
            f"{self._name}-{suffix}",
            project=self._ctx.account,
            network=network.id,
            description=f"mlfabric {self._ctx.base_name}: {purpose}",
            direction="INGRESS",
            priority=priority,
            source_ranges=source_ranges,
            allows=allows,
            denies=denies,
            log_config=log_config,
            opts=self._child,
        )
