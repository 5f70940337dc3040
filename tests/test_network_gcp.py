"""GcpNetwork under the mock runtime, and the service account ids GCP concerns derive (``account_id``).

What a mock test cannot prove: that Compute Engine accepts these ranges together (GKE wants its
secondary ranges unused by anything else in the VPC, peered networks included), that Cloud NAT's
dynamic port allocation suffices for the platform's image pulls, that GKE's own firewall rules and
these two coexist as intended, or that an existing network's subnet really carries the ``pods`` and
``services`` ranges. Those need a real project (README: limits).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components.concerns import NetworkOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import account_id
from mlfabric.components.gcp.network import GcpNetwork, subnet_ranges
from mlfabric.components.spec import SpecError, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:network:GcpNetwork"
NETWORK = "gcp:compute/network:Network"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
ROUTER = "gcp:compute/router:Router"
NAT = "gcp:compute/routerNat:RouterNat"
FIREWALL = "gcp:compute/firewall:Firewall"
SERVICE = "gcp:projects/service:Service"
PROJECT = "ml-platform-test"


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    conforms: bool

    @property
    def children(self) -> list[ResourceRecord]:
        component = only(self.records, COMPONENT)
        return [r for r in self.records if r.custom and r.parent == component.urn]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.children)


FLOW_LOGS = "gcp:networkmanagement/vpcFlowLogsConfig:VpcFlowLogsConfig"


def build(environment: str, **network: Any) -> Built:
    spec = parse_spec(spec_data("gcp", environment, network=network))
    ctx = PlatformContext.from_spec(spec, account=PROJECT)
    conforms: list[bool] = []

    def program() -> None:
        net = GcpNetwork(spec.base_name, spec.network, ctx)
        conforms.append(isinstance(net, NetworkOutputs))
        for key in ("network_id", "private_subnet_ids", "public_subnet_ids"):
            pulumi.export(key, getattr(net, key))

    records, outputs, _ = run_program(
        program, project="mlfabric", stack=f"gcp-{environment}", config={}, secret_keys=[],
        world=World(project="mlfabric", stack=f"gcp-{environment}", region="us-central1"),
    )
    return Built(records, outputs, all(conforms))


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev")


@pytest.fixture(scope="module")
def prod() -> Built:
    return build("prod", cidr="10.40.0.0/16")


EXPECTED = {SERVICE: 1, NETWORK: 1, SUBNET: 1, ROUTER: 1, NAT: 1, FIREWALL: 2}


def test_dev_network_creates_exact_child_types(dev: Built) -> None:
    assert dev.counts() == EXPECTED


def test_prod_network_creates_the_same_children_with_flow_logs_on_the_subnet(prod: Built) -> None:
    assert prod.counts() == EXPECTED
    assert only(prod.records, SUBNET).inputs["logConfig"] == {
        "aggregationInterval": "INTERVAL_5_SEC", "flowSampling": 0.5, "metadata": "INCLUDE_ALL_METADATA",
    }
    assert "logConfig" not in only(build("dev").records, SUBNET).inputs


def test_every_child_is_parented_to_the_component_and_pinned_to_the_project(prod: Built) -> None:
    component = only(prod.records, COMPONENT)
    custom = [r for r in prod.records if r.custom]
    assert custom and all(r.parent == component.urn for r in custom)
    assert all(r.inputs["project"] == PROJECT for r in custom)
    assert prod.conforms


def test_compute_api_is_enabled_and_left_on_at_destroy(dev: Built) -> None:
    api = only(dev.records, SERVICE)
    assert api.inputs == {"service": "compute.googleapis.com", "project": PROJECT, "disableOnDestroy": False}
    assert api.urn in only(dev.records, NETWORK).dependencies


def test_vpc_is_custom_mode_with_regional_routing(dev: Built) -> None:
    network = only(dev.records, NETWORK).inputs
    assert network["autoCreateSubnetworks"] is False
    assert network["routingMode"] == "REGIONAL"


def test_subnet_carves_nodes_pods_and_services_from_the_spec_cidr_with_private_google_access(prod: Built) -> None:
    subnet = only(prod.records, SUBNET).inputs
    assert subnet["region"] == "us-central1"
    assert subnet["ipCidrRange"] == "10.40.128.0/18"
    assert subnet["secondaryIpRanges"] == [
        {"rangeName": "pods", "ipCidrRange": "10.40.0.0/17"},
        {"rangeName": "services", "ipCidrRange": "10.40.192.0/20"},
    ]
    assert subnet["privateIpGoogleAccess"] is True
    assert subnet["network"] == only(prod.records, NETWORK).id


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/12", "10.8.0.0/20", "192.168.0.0/18"])
def test_subnet_ranges_never_overlap_and_stay_inside_the_cidr(cidr: str) -> None:
    blocks = [ipaddress.IPv4Network(r) for r in subnet_ranges(cidr)]
    parent = ipaddress.IPv4Network(cidr)
    assert all(b.subnet_of(parent) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
    nodes, pods, services = blocks
    assert pods.prefixlen == parent.prefixlen + 1 and nodes.prefixlen == parent.prefixlen + 2
    assert services.prefixlen == parent.prefixlen + 4


def test_cloud_nat_serves_every_range_of_the_platform_subnet_only(prod: Built) -> None:
    nat, router = only(prod.records, NAT).inputs, only(prod.records, ROUTER)
    assert nat["router"].startswith("fraud-prod-")  # the router's (auto-generated) name
    assert nat["region"] == router.inputs["region"] == "us-central1"
    assert nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    assert nat["subnetworks"] == [{"name": only(prod.records, SUBNET).id, "sourceIpRangesToNats": ["ALL_IP_RANGES"]}]
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}
    assert router.inputs["network"] == only(prod.records, NETWORK).id


def test_firewall_admits_only_node_and_pod_ranges_and_denies_the_rest(prod: Built) -> None:
    rules = {r.name: r.inputs for r in of_type(prod.records, FIREWALL)}
    internal, deny = rules["fraud-prod-internal"], rules["fraud-prod-deny-ingress"]
    assert internal["direction"] == "INGRESS"
    assert sorted(internal["sourceRanges"]) == ["10.40.0.0/17", "10.40.128.0/18"]
    assert {a["protocol"] for a in internal["allows"]} == {"tcp", "udp", "icmp"}
    assert deny["sourceRanges"] == ["0.0.0.0/0"] and deny["denies"] == [{"protocol": "all"}]
    assert deny["priority"] == 65534 and "allows" not in deny
    assert deny["logConfig"] == {"metadata": "INCLUDE_ALL_METADATA"}
    assert "logConfig" not in {r.name: r.inputs for r in of_type(build("dev").records, FIREWALL)}["fraud-dev-deny-ingress"]
    # Nothing is opened to the internet.
    assert not any("0.0.0.0/0" in r.get("sourceRanges", []) and r.get("allows") for r in rules.values())


def test_outputs_name_the_network_and_its_one_private_subnet(prod: Built) -> None:
    assert prod.outputs["network_id"] == only(prod.records, NETWORK).id
    assert prod.outputs["network_id"].startswith(f"projects/{PROJECT}/global/networks/fraud-prod-")
    assert prod.outputs["private_subnet_ids"] == [only(prod.records, SUBNET).id]
    assert prod.outputs["public_subnet_ids"] == []


@pytest.mark.parametrize(
    ("existing", "network_id"),
    [
        ("projects/shared-vpc-host/global/networks/corp", "projects/shared-vpc-host/global/networks/corp"),
        ("corp", f"projects/{PROJECT}/global/networks/corp"),
    ],
)
def test_an_existing_network_is_read_not_created(existing: str, network_id: str) -> None:
    built = build("dev", existing_network_id=existing)
    assert built.counts() == {}
    assert built.outputs["network_id"] == network_id
    project = network_id.split("/")[1]
    assert built.outputs["private_subnet_ids"] == [f"projects/{project}/regions/us-central1/subnetworks/fraud-prod"
                                                   .replace("fraud-prod", "fraud-dev")]


def test_flow_logs_on_an_existing_network_are_a_vpc_flow_logs_config_on_its_subnet() -> None:
    built = build("prod", existing_network_id="projects/shared-vpc-host/global/networks/corp",
                  private_endpoints=False)
    assert built.counts() == {FLOW_LOGS: 1, "gcp:projects/service:Service": 1}
    config = only(built.records, FLOW_LOGS).inputs
    assert config["subnet"] == "projects/shared-vpc-host/regions/us-central1/subnetworks/fraud-prod"
    assert config["state"] == "ENABLED" and config["location"] == "global"
    assert config["aggregationInterval"] == "INTERVAL_5_SEC" and config["metadata"] == "INCLUDE_ALL_METADATA"
    api = only(built.records, "gcp:projects/service:Service").inputs
    assert api["service"] == "networkmanagement.googleapis.com"


@pytest.mark.parametrize(
    ("network", "field"),
    [({"cidr": "10.9.0.0/16"}, "network.cidr"),
     ({"nat_gateways": "single"}, "network.nat_gateways"),
     ({"private_endpoints": True}, "network.private_endpoints")],
)
def test_what_an_existing_network_cannot_take_is_refused_not_dropped(network: dict[str, Any], field: str) -> None:
    data = spec_data("gcp", "prod", network={"existing_network_id": "corp", "private_endpoints": False, **network})
    with pytest.raises(SpecError, match=rf"(^|\n){field}: not supported on gcp: .*"):
        parse_spec(data)


@pytest.mark.parametrize("existing", ["my-vpc", "projects/host-project/global/networks/corp",
                                      "https://www.googleapis.com/compute/v1/projects/host-project/global/networks/corp"])
def test_existing_network_ids_in_gcp_format_are_accepted(existing: str) -> None:
    parse_spec(spec_data("gcp", "dev", network={"existing_network_id": existing}))


@pytest.mark.parametrize("existing", ["My_VPC", "projects/p/global/networks/",
                                      "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
                                      "a" * 64, "net\x00work"])
def test_existing_network_ids_of_another_shape_are_refused(existing: str) -> None:
    with pytest.raises(SpecError, match=r"network\.existing_network_id: on GCP give the VPC network's name"):
        parse_spec(spec_data("gcp", "dev", network={"existing_network_id": existing}))


@pytest.mark.parametrize(
    ("base", "suffix"),
    [("fraud-prod", "training"), ("a-very-long-platform-staging", "training"),
     ("a-very-long-platform-staging", "serve-a-long-endpoint-name1"), ("abc-dev", "gke-nodes")],
)
def test_service_account_ids_fit_gcp_limits_and_are_stable(base: str, suffix: str) -> None:
    value = account_id(base, suffix)
    assert 6 <= len(value) <= 30
    assert value[0].isalpha() and value[-1].isalnum()
    assert all(c.islower() or c.isdigit() or c == "-" for c in value)
    assert value == account_id(base, suffix)
    if len(f"{base}-{suffix}") <= 30:
        assert value == f"{base}-{suffix}"
    assert account_id(base, suffix) != account_id(base + "x", suffix)
