"""AwsNetwork under the mock runtime, built directly (no MLPlatform) from a parsed spec.

What a mock test cannot prove: that the zones returned by the real ``getAvailabilityZones`` offer
the instance types the cluster asks for; that AWS accepts these subnets, routes and endpoints
together (e.g. that private DNS for the interface endpoints resolves, or that the S3 gateway
endpoint's prefix-list routes really land in the private route tables); that flow logs are
delivered with this role and key policy; or, for a reused VPC, that its subnets carry the EKS role
tags the lookups filter on. Those need a real account (README: limits).
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components.aws.network import AwsNetwork
from mlfabric.components.concerns import NetworkOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:network:AwsNetwork"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    conforms: bool

    @property
    def custom(self) -> list[ResourceRecord]:
        return [r for r in self.records if r.custom]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.custom)


def build(environment: str, **network: Any) -> Built:
    spec = parse_spec(spec_data("aws", environment, **({"network": network} if network else {})))
    ctx = PlatformContext.from_spec(spec)
    conforms: list[bool] = []

    def program() -> None:
        net = AwsNetwork(spec.base_name, spec.network, ctx)
        conforms.append(isinstance(net, NetworkOutputs))
        for key in NetworkOutputs.output_names():
            pulumi.export(key, getattr(net, key))

    records, outputs, _ = run_program(
        program, project="mlfabric", stack=f"aws-{environment}", config={}, secret_keys=[],
        world=World(project="mlfabric", stack=f"aws-{environment}", region="us-east-1"),
    )
    return Built(records, outputs, all(conforms))


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev")


@pytest.fixture(scope="module")
def prod() -> Built:
    return build("prod")


def test_dev_network_creates_exact_child_types_for_two_zones_and_one_nat(dev: Built) -> None:
    assert dev.counts() == {
        "aws:ec2/vpc:Vpc": 1,
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
        SUBNET: 4,
        "aws:ec2/internetGateway:InternetGateway": 1,
        EIP: 1,
        NAT: 1,
        ROUTE_TABLE: 2,
        ASSOCIATION: 4,
        ENDPOINT: 1,
    }


def test_prod_network_creates_exact_child_types_for_three_zones_nat_per_zone_endpoints_and_flow_logs(
    prod: Built,
) -> None:
    assert prod.counts() == {
        "aws:ec2/vpc:Vpc": 1,
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
        SUBNET: 6,
        "aws:ec2/internetGateway:InternetGateway": 1,
        EIP: 3,
        NAT: 3,
        ROUTE_TABLE: 4,
        ASSOCIATION: 6,
        ENDPOINT: 4,
        "aws:ec2/securityGroup:SecurityGroup": 1,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 1,
        KMS_KEY: 1,
        LOG_GROUP: 1,
        ROLE: 1,
        ROLE_POLICY: 1,
        FLOW_LOG: 1,
    }


def test_every_child_is_parented_to_the_network_component(prod: Built) -> None:
    component = only(prod.records, COMPONENT)
    assert all(r.parent == component.urn for r in prod.custom)


def test_vpc_uses_the_spec_cidr_with_dns_support_and_hostnames(prod: Built) -> None:
    vpc = only(prod.records, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_default_security_group_allows_no_traffic(dev: Built) -> None:
    group = only(dev.records, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.inputs.get("ingress", []) == []
    assert group.inputs.get("egress", []) == []


@pytest.mark.parametrize(("environment", "zones"), [("dev", 2), ("prod", 3)])
def test_each_zone_gets_one_private_and_one_public_subnet(environment: str, zones: int) -> None:
    subnets = of_type(build(environment).records, SUBNET)
    by_tier = Counter(r.inputs["tags"]["mlfabric-tier"] for r in subnets)
    assert by_tier == {"private": zones, "public": zones}
    for tier in ("private", "public"):
        tier_zones = [r.inputs["availabilityZone"] for r in subnets if r.inputs["tags"]["mlfabric-tier"] == tier]
        assert sorted(tier_zones) == [f"us-east-1{z}" for z in "abc"[:zones]]


def test_subnets_are_carved_from_the_vpc_cidr_without_overlap() -> None:
    built = build("prod", cidr="10.42.0.0/20", availability_zones=6)
    vpc = ipaddress.IPv4Network("10.42.0.0/20")
    blocks = [ipaddress.IPv4Network(r.inputs["cidrBlock"]) for r in of_type(built.records, SUBNET)]
    assert len(blocks) == 12
    assert all(block.subnet_of(vpc) for block in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_subnets_are_tagged_for_eks_load_balancers_and_never_assign_public_ips(dev: Built) -> None:
    for subnet in of_type(dev.records, SUBNET):
        tags = subnet.inputs["tags"]
        role = "kubernetes.io/role/internal-elb" if tags["mlfabric-tier"] == "private" else "kubernetes.io/role/elb"
        other = "kubernetes.io/role/elb" if role.endswith("internal-elb") else "kubernetes.io/role/internal-elb"
        assert tags[role] == "1"
        assert other not in tags
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
        assert tags["mlfabric-platform"] == "fraud"


def test_single_nat_gateway_serves_every_private_subnet_in_dev(dev: Built) -> None:
    nat = only(dev.records, NAT)
    eip = only(dev.records, EIP)
    assert nat.inputs["allocationId"] == eip.id
    assert eip.inputs["domain"] == "vpc"
    public_subnets = {r.id for r in of_type(dev.records, SUBNET) if r.inputs["tags"]["mlfabric-tier"] == "public"}
    assert nat.inputs["subnetId"] in public_subnets
    private_table = only(dev.records, ROUTE_TABLE, "fraud-dev-private-1")
    assert private_table.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "natGatewayId": nat.id}]
    private_subnets = {r.id for r in of_type(dev.records, SUBNET) if r.inputs["tags"]["mlfabric-tier"] == "private"}
    associated = {a.inputs["subnetId"] for a in of_type(dev.records, ASSOCIATION) if a.inputs["routeTableId"] == private_table.id}
    assert associated == private_subnets


def test_per_zone_nat_gateways_each_serve_their_own_zone_in_prod(prod: Built) -> None:
    subnets = {r.id: r for r in of_type(prod.records, SUBNET)}
    nats = {r.id: r for r in of_type(prod.records, NAT)}
    assert len({n.inputs["subnetId"] for n in nats.values()}) == 3
    tables = {r.id: r for r in of_type(prod.records, ROUTE_TABLE) if r.name.startswith("fraud-prod-private-")}
    assert len(tables) == 3
    for association in of_type(prod.records, ASSOCIATION):
        subnet = subnets[association.inputs["subnetId"]]
        if subnet.inputs["tags"]["mlfabric-tier"] != "private":
            continue
        (route,) = tables[association.inputs["routeTableId"]].inputs["routes"]
        nat_subnet = subnets[nats[route["natGatewayId"]].inputs["subnetId"]]
        assert nat_subnet.inputs["availabilityZone"] == subnet.inputs["availabilityZone"]


def test_public_subnets_route_to_the_internet_gateway(dev: Built) -> None:
    gateway = only(dev.records, "aws:ec2/internetGateway:InternetGateway")
    table = only(dev.records, ROUTE_TABLE, "fraud-dev-public")
    assert table.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": gateway.id}]
    public_subnets = {r.id for r in of_type(dev.records, SUBNET) if r.inputs["tags"]["mlfabric-tier"] == "public"}
    associated = {a.inputs["subnetId"] for a in of_type(dev.records, ASSOCIATION) if a.inputs["routeTableId"] == table.id}
    assert associated == public_subnets


def test_s3_gateway_endpoint_serves_every_private_route_table(prod: Built) -> None:
    s3 = only(prod.records, ENDPOINT, "fraud-prod-s3")
    private_tables = {r.id for r in of_type(prod.records, ROUTE_TABLE) if r.name.startswith("fraud-prod-private-")}
    assert s3.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    assert set(s3.inputs["routeTableIds"]) == private_tables


def test_ecr_and_sts_interface_endpoints_use_private_dns_behind_https_only_from_the_vpc(prod: Built) -> None:
    group = only(prod.records, "aws:ec2/securityGroup:SecurityGroup")
    rule = only(prod.records, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["securityGroupId"] == group.id
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert rule.inputs["cidrIpv4"] == "10.0.0.0/16"
    private_subnets = {r.id for r in of_type(prod.records, SUBNET) if r.inputs["tags"]["mlfabric-tier"] == "private"}
    interface = [r for r in of_type(prod.records, ENDPOINT) if r.inputs["vpcEndpointType"] == "Interface"]
    assert sorted(r.inputs["serviceName"] for r in interface) == [
        "com.amazonaws.us-east-1.ecr.api",
        "com.amazonaws.us-east-1.ecr.dkr",
        "com.amazonaws.us-east-1.sts",
    ]
    for endpoint in interface:
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert set(endpoint.inputs["subnetIds"]) == private_subnets
        assert endpoint.inputs["securityGroupIds"] == [group.id]


def test_interface_endpoints_follow_the_private_endpoints_switch(dev: Built) -> None:
    assert [r.inputs["vpcEndpointType"] for r in of_type(dev.records, ENDPOINT)] == ["Gateway"]
    with_endpoints = build("dev", private_endpoints=True)
    assert len(of_type(with_endpoints.records, ENDPOINT)) == 4


def test_flow_logs_are_recorded_only_in_prod(dev: Built, prod: Built) -> None:
    assert not of_type(dev.records, FLOW_LOG)
    assert not of_type(dev.records, LOG_GROUP)
    flow_log = only(prod.records, FLOW_LOG)
    vpc = only(prod.records, "aws:ec2/vpc:Vpc")
    assert flow_log.inputs["vpcId"] == vpc.id
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"


def test_flow_logs_go_to_a_kms_encrypted_log_group_through_a_role_scoped_to_it(prod: Built) -> None:
    flow_log, group, key = only(prod.records, FLOW_LOG), only(prod.records, LOG_GROUP), only(prod.records, KMS_KEY)
    role, policy = only(prod.records, ROLE), only(prod.records, ROLE_POLICY)
    group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/mlfabric/fraud-prod/vpc-flow-logs"
    assert flow_log.inputs["logDestination"] == group_arn
    assert flow_log.inputs["iamRoleArn"].endswith(f":role/{role.id}")
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert key.inputs["enableKeyRotation"] is True
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Resource"] == [group_arn, f"{group_arn}:*"]
    assert policy.inputs["role"] == role.id
    logs_grant = json.loads(key.inputs["policy"])["Statement"][2]
    assert logs_grant["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs_grant["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn}}


def test_prod_flow_log_key_and_log_group_are_protected_and_retained(prod: Built) -> None:
    for record in (only(prod.records, KMS_KEY), only(prod.records, LOG_GROUP)):
        assert record.protect and record.retain_on_delete
    assert not any(r.protect for r in prod.custom if r.type not in (KMS_KEY, LOG_GROUP))


def test_no_iam_or_key_policy_allows_every_action_on_every_resource(prod: Built) -> None:
    documents = [
        json.loads(r.inputs[key])
        for r in prod.custom
        for key in ("assumeRolePolicy", "policy")
        if isinstance(r.inputs.get(key), str)
    ]
    # role trust, role policy, key policy, and the four endpoint policies (S3 gateway, ECR api/dkr, STS)
    assert len(documents) == 7
    for document in documents:
        for statement in document["Statement"]:
            actions = statement.get("Action", [])
            resources = statement.get("Resource", [])
            actions = [actions] if isinstance(actions, str) else actions
            resources = [resources] if isinstance(resources, str) else resources
            # An interface endpoint lets this account's principals through to any ECR/STS call.
            this_account = statement.get("Condition") == {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}
            assert this_account or not ("*" in actions and "*" in resources), statement


def test_every_vpc_endpoint_declares_a_restricting_policy(prod: Built) -> None:
    endpoints = {r.inputs["serviceName"].rsplit(".", 1)[-1]: json.loads(r.inputs["policy"])["Statement"]
                 for r in of_type(prod.records, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == {"s3", "api", "dkr", "sts"}
    s3 = {s["Sid"]: s for s in endpoints["s3"]}
    assert s3["PlatformBuckets"]["Resource"] == ["arn:aws:s3:::fraud-prod-*", "arn:aws:s3:::fraud-prod-*/*"]
    assert s3["PlatformBuckets"]["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}
    assert s3["EcrImageLayers"]["Resource"] == "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"
    assert s3["EcrImageLayers"]["Action"] == "s3:GetObject"
    # IRSA's AssumeRoleWithWebIdentity is unauthenticated: allowed for the platform's roles only
    sts = {s["Sid"]: s for s in endpoints["sts"]}
    assert sts["PlatformWorkloadIdentity"]["Resource"] == "arn:aws:iam::123456789012:role/fraud-prod-*"
    assert [s["Sid"] for s in endpoints["api"]] == ["ThisAccountOnly"]


def test_outputs_are_the_network_contracts_declared_once_and_name_the_created_vpc(prod: Built) -> None:
    assert prod.conforms
    # The contract declares the outputs; the AWS class assigns them and re-declares none.
    assert not set(vars(AwsNetwork).get("__annotations__", {})) & set(NetworkOutputs.output_names())
    vpc = only(prod.records, "aws:ec2/vpc:Vpc")
    subnets = {r.inputs["tags"]["Name"]: r.id for r in of_type(prod.records, SUBNET)}
    assert prod.outputs["network_id"] == vpc.id
    assert prod.outputs["private_subnet_ids"] == [subnets[f"fraud-prod-private-{i}"] for i in (1, 2, 3)]
    assert prod.outputs["public_subnet_ids"] == [subnets[f"fraud-prod-public-{i}"] for i in (1, 2, 3)]


def test_an_existing_vpc_is_reused_and_only_what_can_be_added_to_it_is_created() -> None:
    built = build("prod", existing_network_id="vpc-0123456789abcdef0")
    # Nothing of the VPC itself (subnets, gateways, route tables); what attaches to it is added.
    assert built.counts() == {
        ENDPOINT: 4, "aws:ec2/securityGroup:SecurityGroup": 1,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 1,
        FLOW_LOG: 1, LOG_GROUP: 1, KMS_KEY: 1, ROLE: 1, ROLE_POLICY: 1,
    }
    assert built.conforms
    assert built.outputs["network_id"] == "vpc-0123456789abcdef0"
    private, public = built.outputs["private_subnet_ids"], built.outputs["public_subnet_ids"]
    assert len(private) == 3 and len(public) == 3
    assert not set(private) & set(public)
    assert all(s.startswith("subnet-") for s in private + public)


def test_on_an_existing_vpc_the_s3_gateway_endpoint_uses_the_private_subnets_route_tables() -> None:
    built = build("prod", existing_network_id="vpc-0123456789abcdef0")
    s3 = only(built.records, ENDPOINT, "fraud-prod-s3")
    assert s3.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    # one route table per private subnet in the fake existing VPC (the getRouteTables answer)
    assert len(s3.inputs["routeTableIds"]) == 3
    assert all(t.startswith("rtb-") for t in s3.inputs["routeTableIds"])


def test_on_an_existing_vpc_interface_endpoints_go_to_its_private_subnets_and_admit_its_cidr() -> None:
    built = build("prod", existing_network_id="vpc-0123456789abcdef0")
    private = built.outputs["private_subnet_ids"]
    for slug in ("ecr-api", "ecr-dkr", "sts"):
        endpoint = only(built.records, ENDPOINT, f"fraud-prod-{slug}")
        assert endpoint.inputs["subnetIds"] == private
        assert endpoint.inputs["vpcId"] == "vpc-0123456789abcdef0"
        assert endpoint.inputs["privateDnsEnabled"] is True
    rule = only(built.records, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["cidrIpv4"] == "10.0.0.0/16"  # the fake VPC's CIDR, read with getVpc


def test_on_an_existing_vpc_flow_logs_record_its_traffic() -> None:
    built = build("prod", existing_network_id="vpc-0123456789abcdef0")
    assert only(built.records, FLOW_LOG).inputs["vpcId"] == "vpc-0123456789abcdef0"


def test_on_an_existing_vpc_in_dev_only_the_s3_gateway_endpoint_is_added() -> None:
    built = build("dev", existing_network_id="vpc-0123456789abcdef0")
    assert built.counts() == {ENDPOINT: 1}
