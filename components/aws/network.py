"""AWS network: a VPC with private and public subnets per zone, NAT, VPC endpoints and flow logs.

Creates, for a new network (``network.existing_network_id`` omitted):

- ``aws:ec2/vpc:Vpc`` (DNS support and hostnames on) and ``aws:ec2/defaultSecurityGroup:DefaultSecurityGroup``
  with no rules (the VPC's default group allows nothing; CIS AWS 5.4);
- per zone a private and a public ``aws:ec2/subnet:Subnet`` carved from ``network.cidr``, tagged
  ``kubernetes.io/role/internal-elb`` / ``kubernetes.io/role/elb`` so EKS load balancers find them
  (public subnets never assign public IPs on launch: only NAT gateways and load balancers live there);
- an ``InternetGateway``; one ``Eip`` + ``NatGateway`` (``nat_gateways: single``) or one per zone
  (``per-zone``); a public ``RouteTable`` (default route to the internet gateway) and one private
  ``RouteTable`` per NAT gateway (default route to it), with a ``RouteTableAssociation`` per subnet;
- an S3 gateway ``VpcEndpoint`` on the private route tables (free: always created), and, when
  ``network.private_endpoints``, ECR api, ECR dkr and STS interface endpoints with private DNS in
  the private subnets behind a ``SecurityGroup`` that admits only HTTPS from the VPC CIDR;
- when ``network.flow_logs``: a ``FlowLog`` of all traffic into a CloudWatch ``LogGroup`` encrypted
  with its own KMS key (rotation on), delivered by an IAM role that may write to that log group only.

Reusing a VPC (``network.existing_network_id``): the VPC and its subnets are read with the ``getVpc``
/ ``getSubnets`` invokes, subnets being recognised by the same EKS role tags, and the private
subnets' route tables with ``getRouteTables`` (the VPC's main route table when they have no explicit
association). What can be added to a VPC one does not own is added
to it, exactly as for a new one: the S3 gateway endpoint on the private route tables, the ECR/STS
interface endpoints in the private subnets (``private_endpoints``) and the flow log
(``flow_logs``). What belongs to the VPC itself (its CIDR, zones, NAT gateways) stays as it is: the
spec refuses those settings with an existing network (``capabilities.py``).

Routes are declared inline on the route tables (one resource instead of two per table); the S3
endpoint's prefix-list routes are managed by the endpoint and ignored by the route table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from mlfabric.components.aws.common import concern_key, logs_key_policy, policy_document, trust_policy
from mlfabric.components.concerns import NetworkOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import NetworkSpec

# Tags the AWS Load Balancer Controller and the in-tree service controller use to pick subnets.
PRIVATE_SUBNET_ROLE_TAG: Final = "kubernetes.io/role/internal-elb"
PUBLIC_SUBNET_ROLE_TAG: Final = "kubernetes.io/role/elb"

# Interface endpoints nodes need to pull images from ECR and exchange IRSA tokens without NAT.
INTERFACE_ENDPOINT_SERVICES: Final = ("ecr.api", "ecr.dkr", "sts")

# CloudWatch retention of VPC flow logs; the network spec has no retention knob, so it follows
# the environment (values CloudWatch accepts).
FLOW_LOG_RETENTION_DAYS: Final = {"dev": 30, "staging": 90, "prod": 365}

# A private subnet per zone takes 1/8 of the VPC (room for the VPC CNI's pod IPs); the last eighth
# is split again into eight public subnets (NAT gateways and load balancers only).
_PRIVATE_PREFIX_DELTA: Final = 3
_PUBLIC_PREFIX_DELTA: Final = 6


def subnet_cidrs(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(private, public) subnet CIDRs for ``zones`` zones, carved from ``cidr`` without overlap."""
    network = ipaddress.IPv4Network(cidr)
    eighths = list(network.subnets(prefixlen_diff=_PRIVATE_PREFIX_DELTA))
    public_pool = eighths[-1].subnets(new_prefix=network.prefixlen + _PUBLIC_PREFIX_DELTA)
    private = [str(block) for block in eighths[:zones]]
    public = [str(block) for _, block in zip(range(zones), public_pool, strict=False)]
    return private, public


def s3_endpoint_policy(
    partition: pulumi.Input[str], account: pulumi.Input[str], region: str, base_name: str
) -> dict[str, Any]:
    """The S3 gateway endpoint's policy: principals of this account reach the platform's buckets
    (all named ``<platform>-<environment>-...``), and anyone may read ECR's image-layer bucket of the
    region (``prod-<region>-starport-layer-bucket``: image pulls fetch layers from it through presigned
    URLs, so the caller is not one of ours; "Minimum Amazon S3 bucket permissions for Amazon ECR" in
    the ECR user guide). Every other bucket of the region is unreachable from the private subnets."""
    buckets = pulumi.Output.format("arn:{0}:s3:::{1}-*", partition, base_name)
    return policy_document([
        {
            "Sid": "PlatformBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [buckets, pulumi.Output.concat(buckets, "/*")],
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account}},
        },
        {
            "Sid": "EcrImageLayers",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": pulumi.Output.format("arn:{0}:s3:::prod-{1}-starport-layer-bucket/*", partition, region),
        },
    ])


def interface_endpoint_policy(
    service: str, partition: pulumi.Input[str], account: pulumi.Input[str], base_name: str
) -> dict[str, Any]:
    """An interface endpoint's policy: only principals of this account use it (credentials of another
    account cannot reach ECR or STS through the platform's network). Resources stay open: EKS add-on
    images come from AWS-owned registries. On STS, the unauthenticated AssumeRoleWithWebIdentity call
    (IRSA: pods exchange their service-account token) has no calling principal, so it is allowed for
    the platform's roles only."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ThisAccountOnly",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account}},
        }
    ]
    if service == "sts":
        statements.append({
            "Sid": "PlatformWorkloadIdentity",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Resource": pulumi.Output.format("arn:{0}:iam::{1}:role/{2}-*", partition, account, base_name),
        })
    return policy_document(statements)


class AwsNetwork(NetworkOutputs):
    """VPC with private/public subnets per zone, NAT, S3/ECR/STS endpoints and flow logs."""

    type_token = "mlfabric:network:AwsNetwork"

    def __init__(
        self,
        name: str,
        spec: NetworkSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        self._invoke = pulumi.InvokeOutputOptions(parent=self)

        if spec.existing_network_id is not None:
            self._reuse(spec.existing_network_id)
        else:
            self._create()
        self.register_contract()

    # --- an existing VPC ---------------------------------------------------------------------

    def _reuse(self, vpc_id: str) -> None:
        vpc = aws.ec2.get_vpc_output(id=vpc_id, opts=self._invoke)

        def tagged(role_tag: str) -> pulumi.Output[list[str]]:
            found = aws.ec2.get_subnets_output(
                filters=[
                    aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
                    aws.ec2.GetSubnetsFilterArgs(name=f"tag:{role_tag}", values=["1"]),
                ],
                opts=self._invoke,
            )
            return found.ids.apply(sorted)

        private = tagged(PRIVATE_SUBNET_ROLE_TAG)
        # The route tables the private subnets use, for the S3 gateway endpoint: their explicit
        # associations, else (a subnet without one uses it) the VPC's main route table.
        explicit = aws.ec2.get_route_tables_output(
            vpc_id=vpc_id,
            filters=private.apply(lambda ids: [aws.ec2.GetRouteTablesFilterArgs(name="association.subnet-id", values=ids)]),
            opts=self._invoke,
        ).ids
        tables = pulumi.Output.all(explicit, vpc.main_route_table_id).apply(
            lambda found: sorted(found[0]) or [found[1]]
        )
        self._endpoints(vpc.id, vpc.cidr_block, private, tables)
        if self._spec.flow_logs:
            self._flow_logs(vpc.id)

        self.network_id = vpc.id
        self.private_subnet_ids = private
        self.public_subnet_ids = tagged(PUBLIC_SUBNET_ROLE_TAG)

    # --- a new VPC -----------------------------------------------------------------------------

    def _create(self) -> None:
        name, spec, ctx, child = self._name, self._spec, self._ctx, self._child
        zones = aws.get_availability_zones_output(
            state="available",
            # Local Zones and Wavelength Zones are opt-in and lack most instance types.
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=self._invoke,
        )
        vpc = aws.ec2.Vpc(
            name,
            cidr_block=spec.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
            tags=ctx.tags({"Name": ctx.base_name}),
            opts=child,
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags=ctx.tags({"Name": f"{ctx.base_name}-default-deny"}),
            opts=child,
        )

        private_cidrs, public_cidrs = subnet_cidrs(spec.cidr, spec.availability_zones)
        private = [
            self._subnet(vpc, zones, index, cidr, "private", PRIVATE_SUBNET_ROLE_TAG)
            for index, cidr in enumerate(private_cidrs)
        ]
        public = [
            self._subnet(vpc, zones, index, cidr, "public", PUBLIC_SUBNET_ROLE_TAG)
            for index, cidr in enumerate(public_cidrs)
        ]

        gateway = aws.ec2.InternetGateway(
            name, vpc_id=vpc.id, tags=ctx.tags({"Name": ctx.base_name}), opts=child
        )
        public_table = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags=ctx.tags({"Name": f"{ctx.base_name}-public"}),
            opts=child,
        )
        for index, subnet in enumerate(public):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index + 1}", subnet_id=subnet.id, route_table_id=public_table.id, opts=child
            )

        nat_count = 1 if spec.nat_gateways == "single" else spec.availability_zones
        nats = [self._nat_gateway(public[index], index, gateway) for index in range(nat_count)]
        private_tables = [
            aws.ec2.RouteTable(
                f"{name}-private-{index + 1}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=ctx.tags({"Name": f"{ctx.base_name}-private-{index + 1}"}),
                opts=child,
            )
            for index, nat in enumerate(nats)
        ]
        for index, subnet in enumerate(private):
            # A single NAT gateway serves every zone; otherwise each zone egresses through its own.
            table = private_tables[index % len(private_tables)]
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index + 1}", subnet_id=subnet.id, route_table_id=table.id, opts=child
            )

        self._endpoints(vpc.id, vpc.cidr_block, [s.id for s in private], [t.id for t in private_tables])
        if spec.flow_logs:
            self._flow_logs(vpc.id)

        self.network_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])

    def _subnet(
        self,
        vpc: aws.ec2.Vpc,
        zones: pulumi.Output[aws.GetAvailabilityZonesResult],
        index: int,
        cidr: str,
        tier: str,
        role_tag: str,
    ) -> aws.ec2.Subnet:
        label = f"{tier}-{index + 1}"
        return aws.ec2.Subnet(
            f"{self._name}-{label}",
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zones.names.apply(lambda names: names[index % len(names)]),
            map_public_ip_on_launch=False,
            tags=self._ctx.tags({"Name": f"{self._ctx.base_name}-{label}", role_tag: "1", "mlfabric-tier": tier}),
            opts=self._child,
        )

    def _nat_gateway(
        self, subnet: aws.ec2.Subnet, index: int, gateway: aws.ec2.InternetGateway
    ) -> aws.ec2.NatGateway:
        logical = f"{self._name}-nat-{index + 1}"
        address = aws.ec2.Eip(
            logical,
            domain="vpc",
            tags=self._ctx.tags({"Name": f"{self._ctx.base_name}-nat-{index + 1}"}),
            opts=self._child,
        )
        return aws.ec2.NatGateway(
            logical,
            allocation_id=address.allocation_id,
            subnet_id=subnet.id,
            connectivity_type="public",
            tags=self._ctx.tags({"Name": f"{self._ctx.base_name}-nat-{index + 1}"}),
            # A public NAT gateway only works once the VPC has an internet gateway.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )

    def _endpoints(
        self,
        vpc_id: pulumi.Input[str],
        vpc_cidr: pulumi.Input[str],
        private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        private_route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    ) -> None:
        name, ctx, child, region = self._name, self._ctx, self._child, self._ctx.region
        account = aws.get_caller_identity_output(opts=self._invoke).account_id
        partition = aws.get_partition_output(opts=self._invoke).partition
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc_id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=private_route_table_ids,
            policy=pulumi.Output.json_dumps(s3_endpoint_policy(partition, account, region, ctx.base_name)),
            tags=ctx.tags({"Name": f"{ctx.base_name}-s3"}),
            opts=child,
        )
        if not self._spec.private_endpoints:
            return
        group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            description=f"mlfabric {ctx.base_name}: HTTPS from the VPC to its interface endpoints",
            vpc_id=vpc_id,
            tags=ctx.tags({"Name": f"{ctx.base_name}-endpoints"}),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https",
            security_group_id=group.id,
            description="HTTPS from inside the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=vpc_cidr,
            tags=ctx.tags(),
            opts=child,
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            slug = service.replace(".", "-")
            aws.ec2.VpcEndpoint(
                f"{name}-{slug}",
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=private_subnet_ids,
                security_group_ids=[group.id],
                policy=pulumi.Output.json_dumps(interface_endpoint_policy(service, partition, account, ctx.base_name)),
                tags=ctx.tags({"Name": f"{ctx.base_name}-{slug}"}),
                opts=child,
            )

    def _flow_logs(self, vpc_id: pulumi.Input[str]) -> None:
        name, ctx, child = self._name, self._ctx, self._child
        log_group_name = f"/mlfabric/{ctx.base_name}/vpc-flow-logs"
        account = aws.get_caller_identity_output(opts=self._invoke).account_id
        partition = aws.get_partition_output(opts=self._invoke).partition
        # Known before the log group exists, so the key policy can name it without a cycle.
        log_group_arn = pulumi.Output.format(
            "arn:{0}:logs:{1}:{2}:log-group:{3}", partition, ctx.region, account, log_group_name
        )
        key = concern_key(
            self,
            ctx,
            f"{name}-flow-logs",
            "VPC flow log encryption",
            policy=pulumi.Output.json_dumps(logs_key_policy(partition, account, ctx.region, log_group_arn, ctx.base_name)),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=log_group_name,
            retention_in_days=FLOW_LOG_RETENTION_DAYS.get(ctx.environment, 365),
            kms_key_id=key.arn,
            tags=ctx.tags(),
            opts=ctx.stateful(self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            description=f"mlfabric {ctx.base_name}: delivers VPC flow logs to CloudWatch",
            assume_role_policy=pulumi.Output.json_dumps(
                # Confused-deputy guard: only flow logs of this account.
                trust_policy(
                    {"Service": "vpc-flow-logs.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": account}},
                )
            ),
            tags=ctx.tags(),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                policy_document(
                    [
                        {
                            "Sid": "WriteThisLogGroupOnly",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [log_group.arn, pulumi.Output.concat(log_group.arn, ":*")],
                        }
                    ]
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            name,
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=ctx.tags({"Name": ctx.base_name}),
            opts=child,
        )


