"""Azure network: a VNet with an AKS subnet and a private-endpoint subnet, NSGs, a NAT gateway, and
the private DNS zones private endpoints resolve through.

Creates, for a new network (``network.existing_network_id`` omitted), in the platform's resource
group:

- ``network:VirtualNetwork`` ``vnet-<platform>-<env>`` over ``network.cidr`` (subnets are separate
  resources, so adding one never rewrites the VNet);
- ``network:Subnet`` ``snet-aks`` (the first half of the address space: AKS nodes; pods get overlay
  addresses outside the VNet) and ``snet-private-endpoints`` (a /24 at the start of the second half),
  each behind its own ``network:NetworkSecurityGroup``. The AKS subnet's group keeps Azure's default
  rules (VNet and load-balancer traffic in, nothing from the internet); the endpoint subnet's group
  admits only HTTPS and SMB (Azure Files) from inside the VNet and denies every other inbound flow.
  Private endpoints honour these rules because the subnet enables private-endpoint network policies;
- with ``nat_gateways: single``: a ``network:NatGateway`` with its ``network:PublicIPAddress``
  (Standard, static) on the AKS subnet: nodes egress through one predictable address and never get
  public IPs. With ``per-zone`` no NAT gateway: a Standard NAT gateway lives in one zone and an AKS
  subnet takes exactly one, so nodes egress through the cluster's Standard load balancer instead, with
  one managed, zone-redundant outbound IP per zone (``outbound_ips``; the cluster sets it);
- with ``training.shared_fs``: ``network:Subnet`` ``snet-lustre`` (a /23 after the endpoint subnet,
  the size Microsoft recommends for Azure Managed Lustre up to 400 TiB; each file system needs a
  subnet of its own) behind its own ``network:NetworkSecurityGroup``: Lustre (TCP 988) in only from
  the AKS subnet, anything between the file system's own hosts, Azure Monitor in; every other inbound
  flow denied. It egresses through the NAT gateway where there is one (the file system reaches Key
  Vault, Storage and Azure Monitor);
- with ``network.private_endpoints``: a ``privatedns:PrivateZone`` per private-link zone the platform
  uses (blob, file, container registry, Azure ML API and notebooks) and a
  ``privatedns:VirtualNetworkLink`` from each to the VNet. The endpoints themselves are declared by
  the concerns that own the target resources (``common.private_endpoint``), because every one of
  those resources is built after the network.

Reusing a VNet (``network.existing_network_id``, an ARM id) creates no VNet, subnet, NSG or NAT: the
subnets named ``snet-aks`` and ``snet-private-endpoints`` are read with the ``getSubnet`` invoke;
what can be added to a VNet that is not the platform's still is: private DNS zones linked to it and
the private endpoints (``network.private_endpoints``), and its flow log (``network.flow_logs``,
declared by storage, which owns the account it is written to). ``network.cidr`` is then the reused
VNet's address space, which AKS's overlay ranges avoid; egress goes through the cluster's load
balancer (one managed outbound IP), because a NAT gateway would have to be attached to a subnet the
platform does not own.

Azure differs from the other clouds here, on purpose:

- ``public_subnet_ids`` is ``[]``: Azure load balancers and NAT gateways need no subnet of their own.
- ``nat_gateways: per-zone`` makes no NAT gateway but load-balancer egress with zone-redundant
  addresses (above): one NAT gateway per zone would need a subnet and a node pool per zone, and the
  zone-redundant StandardV2 NAT gateway is not in the pinned provider's API.
- ``availability_zones`` is a property of node pools on Azure (VNets and subnets are regional): the
  cluster reads it from the spec.
- ``flow_logs`` are declared by the storage component: a VNet flow log lives in the region's Network
  Watcher and writes to a storage account, which the platform creates after the network.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import pulumi
from pulumi_azure_native import network, privatedns

from mlfabric.components.azure.common import PRIVATE_DNS_ZONES, PrivateLinks
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.concerns import NetworkOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import NetworkSpec

CLUSTER_SUBNET: Final = "snet-aks"
ENDPOINT_SUBNET: Final = "snet-private-endpoints"
LUSTRE_SUBNET: Final = "snet-lustre"
# Azure Managed Lustre's recommended subnet up to 400 TiB (shared_fs.json "subnet"; spec_rules caps
# the capacity there): one fixed size, so growing the file system never replaces its subnet.
LUSTRE_PREFIX: Final = 23
# Lustre's ports: servers listen on 988, clients connect from 1019-1023 (shared_fs.json "subnet").
LUSTRE_PORT: Final = "988"

_ENDPOINT_PREFIX: Final = 24
_ENDPOINT_PORTS: Final = ("443", "445")


def subnet_cidrs(cidr: str) -> tuple[str, str]:
    """(AKS subnet, private-endpoint subnet) carved from ``cidr`` (at least a /20) without overlap."""
    vnet = ipaddress.IPv4Network(cidr)
    nodes, rest = vnet.subnets(prefixlen_diff=1)
    endpoints = next(rest.subnets(new_prefix=max(_ENDPOINT_PREFIX, rest.prefixlen)))
    return str(nodes), str(endpoints)


def lustre_subnet_cidr(cidr: str) -> str:
    """The Azure Managed Lustre subnet: the /23 after the one holding the private-endpoint /24 (the
    second half of a /20 or larger VNet holds four /23s)."""
    rest = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=1))[1]
    return str(list(rest.subnets(new_prefix=max(LUSTRE_PREFIX, rest.prefixlen)))[1])


def parse_network_id(network_id: str) -> tuple[str, str]:
    """(resource group, VNet name) of a VNet's ARM id; a clear error for anything else."""
    parts = network_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    # The spec rules refuse any other shape (spec_rules._existing_network).
    assert len(parts) == 8 and lowered[2] == "resourcegroups" and lowered[5:7] == ["microsoft.network", "virtualnetworks"], network_id
    return parts[3], parts[7]


class AzureNetwork(NetworkOutputs):
    """VNet with AKS and private-endpoint subnets, NSGs, NAT egress and private-link DNS zones."""

    type_token = "mlfabric:network:AzureNetwork"

    # Azure only: the AKS subnet, the NAT gateway nodes egress through (None for a reused VNet),
    # and where private endpoints go (None unless network.private_endpoints).
    cluster_subnet_id: pulumi.Output[str]
    nat_gateway_id: pulumi.Output[str] | None
    private_links: PrivateLinks | None
    # The VNet's address space (for a reused VNet: the one the spec says it has), and the zones the
    # spec asks node pools to span (VNets are regional on Azure).
    address_space: str | None
    availability_zones: int
    # Without a NAT gateway: how many managed outbound IPs the cluster's load balancer egresses through.
    outbound_ips: int
    # The Azure Managed Lustre subnet (None without training.shared_fs).
    lustre_subnet_id: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        spec: NetworkSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        self._group = prerequisites_of(ctx).resource_group_name
        self.address_space = spec.cidr
        self.availability_zones = spec.availability_zones
        self.outbound_ips = 1 if spec.nat_gateways == "single" else spec.availability_zones
        self.lustre_subnet_id = None
        shared_fs = ctx.spec is not None and ctx.spec.training is not None and ctx.spec.training.shared_fs is not None

        if spec.existing_network_id is not None:
            endpoint_subnet = self._reuse(spec.existing_network_id, shared_fs)
        else:
            endpoint_subnet = self._create(spec, shared_fs)
        self.private_links = self._private_dns(endpoint_subnet) if spec.private_endpoints else None
        self.private_subnet_ids = self.cluster_subnet_id.apply(lambda subnet: [subnet])
        self.public_subnet_ids = pulumi.Output.from_input([])
        self.register_contract()

    # --- an existing VNet ------------------------------------------------------------------------

    def _reuse(self, network_id: str, shared_fs: bool) -> pulumi.Output[str]:
        group, vnet = parse_network_id(network_id)
        invoke = pulumi.InvokeOutputOptions(parent=self)

        def subnet(subnet_name: str) -> pulumi.Output[str]:
            found = network.get_subnet_output(
                resource_group_name=group, virtual_network_name=vnet, subnet_name=subnet_name, opts=invoke
            )
            return found.id.apply(lambda i: i or "")

        self.network_id = pulumi.Output.from_input(network_id)
        self.cluster_subnet_id = subnet(CLUSTER_SUBNET)
        self.nat_gateway_id = None
        self.lustre_subnet_id = subnet(LUSTRE_SUBNET) if shared_fs else None
        return subnet(ENDPOINT_SUBNET)

    # --- a new VNet ------------------------------------------------------------------------------

    def _create(self, spec: NetworkSpec, shared_fs: bool) -> pulumi.Output[str]:
        name, ctx, group = self._name, self._ctx, self._group
        base = ctx.base_name
        nodes_cidr, endpoints_cidr = subnet_cidrs(spec.cidr)
        vnet = network.VirtualNetwork(
            name,
            virtual_network_name=f"vnet-{base}",
            resource_group_name=group,
            location=ctx.region,
            address_space=network.AddressSpaceArgs(address_prefixes=[spec.cidr]),
            tags=ctx.tags(),
            opts=self._child,
        )
        nat = self._nat() if spec.nat_gateways == "single" else None
        # Azure's default rules: VNet and load-balancer traffic in, nothing from the internet.
        # AKS adds the rules its load balancers need to the NSG in its node resource group.
        cluster_nsg = self._security_group("aks", [])
        endpoint_nsg = self._security_group(
            "endpoints",
            [
                network.SecurityRuleArgs(
                    name="AllowHttpsAndSmbFromVnet",
                    description="Private endpoints answer HTTPS (and SMB for Azure Files) from inside the VNet",
                    priority=100,
                    direction="Inbound",
                    access="Allow",
                    protocol="Tcp",
                    source_address_prefix="VirtualNetwork",
                    source_port_range="*",
                    destination_address_prefix="VirtualNetwork",
                    destination_port_ranges=list(_ENDPOINT_PORTS),
                ),
                network.SecurityRuleArgs(
                    name="DenyAllOtherInbound",
                    description="Nothing else reaches the private endpoints, not even from the VNet",
                    priority=4000,
                    direction="Inbound",
                    access="Deny",
                    protocol="*",
                    source_address_prefix="*",
                    source_port_range="*",
                    destination_address_prefix="*",
                    destination_port_range="*",
                ),
            ],
        )
        cluster_subnet = network.Subnet(
            f"{name}-aks",
            subnet_name=CLUSTER_SUBNET,
            virtual_network_name=vnet.name,
            resource_group_name=group,
            address_prefix=nodes_cidr,
            network_security_group=network.NetworkSecurityGroupArgs(id=cluster_nsg.id),
            nat_gateway=network.SubResourceArgs(id=nat.id) if nat is not None else None,
            # No implicit outbound access: egress only through the NAT gateway (or the cluster's
            # load balancer outbound rules).
            default_outbound_access=False,
            opts=self._child,
        )
        endpoint_subnet = network.Subnet(
            f"{name}-endpoints",
            subnet_name=ENDPOINT_SUBNET,
            virtual_network_name=vnet.name,
            resource_group_name=group,
            address_prefix=endpoints_cidr,
            network_security_group=network.NetworkSecurityGroupArgs(id=endpoint_nsg.id),
            # NSG rules apply to private endpoints only with these policies enabled.
            private_endpoint_network_policies="Enabled",
            default_outbound_access=False,
            # Azure refuses two concurrent writes to one VNet's subnets.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_subnet]),
        )
        self.network_id = vnet.id
        self.cluster_subnet_id = cluster_subnet.id
        self.nat_gateway_id = nat.id if nat is not None else None
        if shared_fs:
            self.lustre_subnet_id = self._lustre_subnet(vnet, spec.cidr, nodes_cidr, nat, endpoint_subnet).id
        return endpoint_subnet.id

    def _lustre_subnet(self, vnet: network.VirtualNetwork, cidr: str, nodes_cidr: str,
                       nat: network.NatGateway | None, after: network.Subnet) -> network.Subnet:
        """Azure Managed Lustre's own subnet, reachable only from the AKS subnet (and Azure Monitor)."""
        lustre_cidr = lustre_subnet_cidr(cidr)
        nsg = self._security_group("lustre", [
            network.SecurityRuleArgs(
                name="AllowLustreHosts", priority=100, direction="Inbound", access="Allow", protocol="*",
                description="The file system's own servers talk to each other on any port",
                source_address_prefix=lustre_cidr, source_port_range="*",
                destination_address_prefix=lustre_cidr, destination_port_range="*",
            ),
            network.SecurityRuleArgs(
                name="AllowLustreFromAks", priority=110, direction="Inbound", access="Allow", protocol="Tcp",
                description="Lustre clients on the AKS nodes reach the file system on TCP 988",
                source_address_prefix=nodes_cidr, source_port_range="*",
                destination_address_prefix=lustre_cidr, destination_port_range=LUSTRE_PORT,
            ),
            network.SecurityRuleArgs(
                name="AllowAzureMonitorIn", priority=120, direction="Inbound", access="Allow", protocol="Tcp",
                description="Azure Monitor reaches the file system (Microsoft's zero-trust rule set)",
                source_address_prefix="AzureMonitor", source_port_range="*",
                destination_address_prefix="VirtualNetwork", destination_port_range="*",
            ),
            network.SecurityRuleArgs(
                name="DenyAllOtherInbound", priority=4000, direction="Inbound", access="Deny", protocol="*",
                description="Nothing else reaches the file system, not even from the VNet",
                source_address_prefix="*", source_port_range="*",
                destination_address_prefix="*", destination_port_range="*",
            ),
        ])
        return network.Subnet(
            f"{self._name}-lustre",
            subnet_name=LUSTRE_SUBNET,
            virtual_network_name=vnet.name,
            resource_group_name=self._group,
            address_prefix=lustre_cidr,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            nat_gateway=network.SubResourceArgs(id=nat.id) if nat is not None else None,
            # With a NAT gateway, egress only through it; without one, the file system keeps Azure's
            # default outbound path to the services it needs (Key Vault, Storage, Azure Monitor).
            default_outbound_access=False if nat is not None else None,
            # Azure refuses two concurrent writes to one VNet's subnets.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[after]),
        )

    def _nat(self) -> network.NatGateway:
        """One NAT gateway with one static public IP (``nat_gateways: single``)."""
        name, ctx, group = self._name, self._ctx, self._group
        base = ctx.base_name
        address = network.PublicIPAddress(
            f"{name}-nat",
            public_ip_address_name=f"pip-{base}-nat",
            resource_group_name=group,
            location=ctx.region,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            tags=ctx.tags(),
            opts=self._child,
        )
        return network.NatGateway(
            name,
            nat_gateway_name=f"ng-{base}",
            resource_group_name=group,
            location=ctx.region,
            sku=network.NatGatewaySkuArgs(name="Standard"),
            public_ip_addresses=[network.SubResourceArgs(id=address.id)],
            idle_timeout_in_minutes=4,
            tags=ctx.tags(),
            opts=self._child,
        )

    def _security_group(self, role: str, rules: list[network.SecurityRuleArgs]) -> network.NetworkSecurityGroup:
        """The network security group of the ``role`` subnet (``aks`` or ``endpoints``)."""
        return network.NetworkSecurityGroup(
            f"{self._name}-{role}",
            network_security_group_name=f"nsg-{self._ctx.base_name}-{role}",
            resource_group_name=self._group,
            location=self._ctx.region,
            security_rules=rules,
            tags=self._ctx.tags(),
            opts=self._child,
        )

    def _private_dns(self, endpoint_subnet: pulumi.Output[str]) -> PrivateLinks:
        zone_ids: dict[str, pulumi.Output[str]] = {}
        for short, zone_name in PRIVATE_DNS_ZONES.items():
            logical = f"{self._name}-dns-{short}"
            zone = privatedns.PrivateZone(
                logical,
                private_zone_name=zone_name,
                resource_group_name=self._group,
                location="global",
                tags=self._ctx.tags(),
                opts=self._child,
            )
            privatedns.VirtualNetworkLink(
                logical,
                virtual_network_link_name=f"link-{self._ctx.base_name}",
                private_zone_name=zone.name,
                resource_group_name=self._group,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=self.network_id),
                # Endpoints register their records through zone groups, not VM auto-registration.
                registration_enabled=False,
                tags=self._ctx.tags(),
                opts=self._child,
            )
            zone_ids[short] = zone.id
        return PrivateLinks(subnet_id=endpoint_subnet, zone_ids=zone_ids)


