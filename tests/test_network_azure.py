"""AzureNetwork under the mock runtime, built directly (no MLPlatform).

What a mock test cannot prove: that Azure accepts these subnets and NSG rules together (e.g. that the
NAT gateway can be attached while AKS manages the subnet's load balancer), that private endpoints
really honour the endpoint subnet's NSG, that the private DNS zones resolve the services' names from
inside the VNet, or that a reused VNet really has subnets named ``snet-aks`` and
``snet-private-endpoints``. Those need a real subscription (README: limits). Proven here: which
resources exist, with which security-relevant inputs, pointing at each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.check import Source, check_source
from mlfabric.components.azure.common import GROUP_ZONES, PRIVATE_DNS_ZONES, private_endpoint
from mlfabric.components.azure.network import AzureNetwork, parse_network_id, subnet_cidrs
from mlfabric.components.concerns import NetworkOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import SpecError, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from mlfabric.policies.rules.tags import tag_property
from tests.azure_support import prerequisites
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:network:AzureNetwork"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
NAT = "azure-native:network:NatGateway"
PIP = "azure-native:network:PublicIPAddress"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-x"
OUTPUTS = ("network_id", "private_subnet_ids", "public_subnet_ids")


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    log: list[str]
    conforms: bool
    outbound_ips: int

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.records if r.custom)


def build(environment: str, *, endpoint_for: str | None = None, **network: Any) -> Built:
    # One NAT gateway unless a test asks for per-zone (the prod default: load-balancer egress).
    network = {"nat_gateways": "single", **network}
    spec = parse_spec(spec_data("azure", environment, network=network))
    ctx = PlatformContext.from_spec(spec).with_handles(prerequisites=prerequisites())
    conforms: list[bool] = []
    outbound: list[int] = []

    def program() -> None:
        component = AzureNetwork(spec.base_name, spec.network, ctx)
        conforms.append(isinstance(component, NetworkOutputs))
        outbound.append(component.outbound_ips)
        for key in OUTPUTS:
            pulumi.export(key, getattr(component, key))
        if endpoint_for is not None:
            assert component.private_links is not None
            target = f"{GROUP_ID}/providers/Microsoft.ContainerRegistry/registries/crx"
            private_endpoint(component, f"{spec.base_name}-acr", ctx, component.private_links, target, endpoint_for)

    records, outputs, log = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="westeurope"),
    )
    return Built(records, outputs, log, all(conforms), outbound[0])


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev")


@pytest.fixture(scope="module")
def prod() -> Built:
    return build("prod", cidr="10.60.0.0/16")


def test_dev_network_creates_exact_child_types(dev: Built) -> None:
    assert dev.counts() == {VNET: 1, SUBNET: 2, NSG: 2, NAT: 1, PIP: 1}


def test_private_endpoints_add_one_dns_zone_and_vnet_link_per_private_link_zone(prod: Built, dev: Built) -> None:
    assert prod.counts() - dev.counts() == {ZONE: 5, LINK: 5}
    zones = {r.inputs["privateZoneName"] for r in of_type(prod.records, ZONE)}
    assert zones == set(PRIVATE_DNS_ZONES.values())
    vnet = only(prod.records, VNET)
    for link in of_type(prod.records, LINK):
        assert link.inputs["virtualNetwork"] == {"id": vnet.id}
        assert link.inputs["registrationEnabled"] is False
        assert link.inputs["location"] == "global"


def test_every_child_is_parented_to_the_component_and_in_the_platform_resource_group(prod: Built) -> None:
    component = only(prod.records, COMPONENT)
    for record in (r for r in prod.records if r.custom):
        assert record.parent == component.urn, record.name
        assert record.inputs["resourceGroupName"] == "rg-x"
        assert record.name.startswith("fraud-prod")


def test_address_space_is_split_into_an_aks_half_and_an_endpoint_slash_24() -> None:
    assert subnet_cidrs("10.0.0.0/16") == ("10.0.0.0/17", "10.0.128.0/24")
    assert subnet_cidrs("10.8.0.0/20") == ("10.8.0.0/21", "10.8.8.0/24")
    assert subnet_cidrs("10.0.0.0/8") == ("10.0.0.0/9", "10.128.0.0/24")


def test_vnet_and_subnets_use_the_spec_cidr(prod: Built) -> None:
    assert only(prod.records, VNET).inputs["addressSpace"] == {"addressPrefixes": ["10.60.0.0/16"]}
    subnets = {r.inputs["subnetName"]: r.inputs for r in of_type(prod.records, SUBNET)}
    assert subnets["snet-aks"]["addressPrefix"] == "10.60.0.0/17"
    assert subnets["snet-private-endpoints"]["addressPrefix"] == "10.60.128.0/24"


def test_nodes_egress_only_through_the_nat_gateway(dev: Built) -> None:
    aks = only(dev.records, SUBNET, "fraud-dev-aks")
    nat, address = only(dev.records, NAT), only(dev.records, PIP)
    assert aks.inputs["natGateway"] == {"id": nat.id}
    assert aks.inputs["defaultOutboundAccess"] is False
    assert nat.inputs["publicIpAddresses"] == [{"id": address.id}]
    assert address.inputs["sku"] == {"name": "Standard", "tier": "Regional"}
    assert address.inputs["publicIPAllocationMethod"] == "Static"


def test_each_subnet_has_its_own_nsg_and_the_aks_nsg_adds_no_inbound_rule(dev: Built) -> None:
    for slug in ("aks", "endpoints"):
        subnet, nsg = only(dev.records, SUBNET, f"fraud-dev-{slug}"), only(dev.records, NSG, f"fraud-dev-{slug}")
        assert subnet.inputs["networkSecurityGroup"] == {"id": nsg.id}
    assert only(dev.records, NSG, "fraud-dev-aks").inputs["securityRules"] == []


def test_private_endpoints_accept_only_https_and_smb_from_the_vnet(dev: Built) -> None:
    rules = {r["name"]: r for r in only(dev.records, NSG, "fraud-dev-endpoints").inputs["securityRules"]}
    allow, deny = rules["AllowHttpsAndSmbFromVnet"], rules["DenyAllOtherInbound"]
    assert (allow["access"], allow["direction"], allow["protocol"]) == ("Allow", "Inbound", "Tcp")
    assert allow["sourceAddressPrefix"] == "VirtualNetwork"
    assert allow["destinationPortRanges"] == ["443", "445"]
    assert (deny["access"], deny["sourceAddressPrefix"], deny["destinationPortRange"]) == ("Deny", "*", "*")
    assert deny["priority"] > allow["priority"]
    subnet = only(dev.records, SUBNET, "fraud-dev-endpoints")
    assert subnet.inputs["privateEndpointNetworkPolicies"] == "Enabled"


def test_outputs_name_the_vnet_and_the_aks_subnet_and_no_public_subnet(dev: Built) -> None:
    assert dev.conforms
    assert dev.outputs["network_id"] == f"{GROUP_ID}/providers/Microsoft.Network/virtualNetworks/vnet-fraud-dev"
    assert dev.outputs["private_subnet_ids"] == [f"{dev.outputs['network_id']}/subnets/snet-aks"]
    assert dev.outputs["public_subnet_ids"] == []


def test_reusing_a_vnet_creates_no_network_but_reads_its_subnets() -> None:
    existing = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-shared/providers/Microsoft.Network/virtualNetworks/vnet-hub"
    built = build("dev", existing_network_id=existing)
    assert built.counts() == {}
    assert built.outputs["network_id"] == existing
    assert built.outputs["private_subnet_ids"] == [f"{existing}/subnets/snet-aks"]


def test_reusing_a_vnet_with_private_endpoints_links_the_zones_to_it() -> None:
    existing = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-shared/providers/Microsoft.Network/virtualNetworks/vnet-hub"
    built = build("prod", existing_network_id=existing)
    assert built.counts() == {ZONE: 5, LINK: 5}
    assert {r.inputs["virtualNetwork"]["id"] for r in of_type(built.records, LINK)} == {existing}


def test_an_existing_network_id_that_is_not_a_vnet_is_refused_by_the_spec_with_the_expected_shape() -> None:
    with pytest.raises(SpecError, match=r"network.existing_network_id: on Azure give the VNet's resource id"):
        build("dev", existing_network_id="vpc-0abc")
    assert parse_network_id(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v-1") == ("rg", "v-1")


def test_per_zone_egress_makes_no_nat_gateway_but_one_outbound_ip_per_zone_for_the_cluster() -> None:
    built = build("prod", nat_gateways="per-zone")
    assert NAT not in built.counts() and PIP not in built.counts()
    assert "natGateway" not in only(built.records, SUBNET, "fraud-prod-aks").inputs
    assert built.outbound_ips == 3


def test_the_network_warns_about_nothing_it_drops(prod: Built) -> None:
    # Flow logs are the storage component's (tests/test_storage_azure.py); nothing is dropped here.
    assert prod.log == []


@pytest.mark.parametrize(("group", "zones"), [("registry", ["acr"]), ("amlworkspace", ["aml-api", "aml-notebooks"])])
def test_private_endpoint_helper_puts_the_target_in_the_endpoint_subnet_with_its_dns_zones(group: str, zones: list[str]) -> None:
    built = build("prod", endpoint_for=group)
    endpoint, zone_group = only(built.records, ENDPOINT), only(built.records, ZONE_GROUP)
    subnet = only(built.records, SUBNET, "fraud-prod-endpoints")
    assert endpoint.inputs["subnet"] == {"id": subnet.id}
    connection = endpoint.inputs["privateLinkServiceConnections"][0]
    assert connection["groupIds"] == [group]
    assert connection["privateLinkServiceId"].endswith("/registries/crx")
    assert endpoint.inputs["privateEndpointName"] == "pe-fraud-prod-acr"
    assert zone_group.inputs["privateEndpointName"] == "pe-fraud-prod-acr"
    zone_ids = {r.inputs["privateZoneName"]: r.id for r in of_type(built.records, ZONE)}
    wanted = [zone_ids[PRIVATE_DNS_ZONES[z]] for z in GROUP_ZONES[group]]
    assert [c["privateDnsZoneId"] for c in zone_group.inputs["privateDnsZoneConfigs"]] == wanted
    assert GROUP_ZONES[group] == tuple(zones)


def test_taggable_resources_carry_the_identity_tags(prod: Built) -> None:
    taggable = [r for r in prod.records if r.custom and tag_property(r.type)]
    assert {r.type for r in taggable} == {VNET, NSG, NAT, PIP}
    for record in (r for r in prod.records if r.custom and r.type != SUBNET):
        assert record.inputs["tags"]["mlfabric-environment"] == "prod", record.name


def test_the_policy_pack_finds_nothing_mandatory(prod: Built) -> None:
    report = check_source(Source("test", "mlfabric", "prod", "azure", "", prod.records))
    assert [v for v in report.violations if v.mandatory] == []
