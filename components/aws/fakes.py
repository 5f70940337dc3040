"""Fake AWS answers: ARNs, physical names and ids as the AWS provider would compute them.

``outputs`` answers in this order: the ML-side types of ``aws_ml.OUTPUTS``; then the network and
training-cluster types of ``_OUTPUTS`` here (EC2 ids with their real prefixes such as ``vpc-``,
``subnet-``, ``nat-``, ``eipalloc-``, ``lt-``; the EKS cluster's endpoint, certificate authority and
OIDC issuer; node groups with their Auto Scaling group; the IAM OIDC provider's ARN); then a
generic ARN/name answer. ``INVOKES`` answers the data sources the components call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from mlfabric.components.aws.fakes_ml import OUTPUTS as ML_OUTPUTS
from mlfabric.components.fakes import World

Fake = Callable[[str, str, dict[str, Any], World], dict[str, Any]]


def _suffix(*parts: str, length: int = 7) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _auto_name(name: str, typ: str) -> str:
    # Pulumi auto-naming: the logical name plus a random suffix; here a stable one.
    return f"{name}-{_suffix(typ, name)}"


def _uuid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _resource_id(prefix: str, typ: str, name: str) -> str:
    # EC2 ids: a type prefix and 17 lowercase hex digits (vpc-0a1b..., subnet-..., nat-...).
    return f"{prefix}-{_suffix(typ, name, length=17)}"


def _ip(base: str, *parts: str) -> str:
    # A stable documentation-range address (RFC 5737) per resource.
    return f"{base}.{int(_suffix(*parts, length=2), 16) % 254 + 1}"


# --- network (EC2 / VPC) -------------------------------------------------------------------------


def _ec2(prefix: str, kind: str, **extra: Any) -> Fake:
    """An EC2 resource whose id carries ``prefix`` and whose ARN names ``kind``."""

    def fake(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
        del inputs
        rid = _resource_id(prefix, typ, name)
        answer = {"__id": rid, "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:{kind}/{rid}", "ownerId": w.aws_account_id}
        answer.update(extra)
        return answer

    return fake


def _vpc(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del inputs
    vpc_id = _resource_id("vpc", typ, name)
    return {
        "__id": vpc_id,
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:vpc/{vpc_id}",
        "ownerId": w.aws_account_id,
        "defaultSecurityGroupId": _resource_id("sg", typ, name + "/default"),
        "defaultRouteTableId": _resource_id("rtb", typ, name + "/main"),
        "mainRouteTableId": _resource_id("rtb", typ, name + "/main"),
        "defaultNetworkAclId": _resource_id("acl", typ, name),
        "dhcpOptionsId": _resource_id("dopt", typ, name),
        "instanceTenancy": "default",
    }


def _subnet(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    subnet_id = _resource_id("subnet", typ, name)
    zone = str(inputs.get("availabilityZone") or f"{w.region}a")
    return {
        "__id": subnet_id,
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:subnet/{subnet_id}",
        "ownerId": w.aws_account_id,
        "availabilityZone": zone,
        "availabilityZoneId": f"use1-az{'abcdef'.find(zone[-1]) + 1}",
    }


def _eip(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del inputs
    allocation = _resource_id("eipalloc", typ, name)
    public_ip = _ip("198.51.100", typ, name)
    return {
        "__id": allocation,
        "allocationId": allocation,
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:elastic-ip/{allocation}",
        "publicIp": public_ip,
        "publicDns": f"ec2-{public_ip.replace('.', '-')}.compute-1.amazonaws.com",
        "domain": "vpc",
    }


def _nat_gateway(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del inputs, w
    return {
        "__id": _resource_id("nat", typ, name),
        "publicIp": _ip("198.51.100", typ, name),
        "privateIp": _ip("10.0.200", typ, name),
        "networkInterfaceId": _resource_id("eni", typ, name),
    }


def _vpc_endpoint(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    endpoint_id = _resource_id("vpce", typ, name)
    service = str(inputs.get("serviceName", ""))
    interface = inputs.get("vpcEndpointType") == "Interface"
    return {
        "__id": endpoint_id,
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:vpc-endpoint/{endpoint_id}",
        "ownerId": w.aws_account_id,
        "state": "available",
        "requesterManaged": False,
        "prefixListId": "" if interface else f"pl-{_suffix(service, length=8)}",
        "cidrBlocks": [] if interface else ["52.216.0.0/15"],
        "networkInterfaceIds": [_resource_id("eni", typ, f"{name}/{i}") for i in range(len(inputs.get("subnetIds") or []))],
        "dnsEntries": [{"dnsName": f"{endpoint_id}-{_suffix(name, length=8)}.{service.rsplit('.', 1)[-1]}.{w.region}.vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"}] if interface else [],
    }


def _security_group(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    group_id = _resource_id("sg", typ, name)
    return {
        "__id": group_id,
        "name": inputs.get("name") or _auto_name(name, typ),
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:security-group/{group_id}",
        "ownerId": w.aws_account_id,
    }


def _security_group_rule(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del inputs
    rule_id = _resource_id("sgr", typ, name)
    return {
        "__id": rule_id,
        "securityGroupRuleId": rule_id,
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:security-group-rule/{rule_id}",
    }


def _launch_template(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    template_id = _resource_id("lt", typ, name)
    return {
        "__id": template_id,
        "name": inputs.get("name") or _auto_name(name, typ),
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:launch-template/{template_id}",
        "latestVersion": 1,
        "defaultVersion": 1,
    }


def _log_group(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    group = inputs.get("name") or _auto_name(name, typ)
    return {"__id": group, "name": group, "arn": f"arn:aws:logs:{w.region}:{w.aws_account_id}:log-group:{group}"}


# --- EKS -----------------------------------------------------------------------------------------


def _eks_cluster(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    cluster = inputs.get("name") or _auto_name(name, typ)
    oidc_id = _suffix(typ, cluster, length=32).upper()
    # base64 of a PEM header: enough for a kubeconfig to carry; nothing can verify it offline.
    ca_data = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFERXdwcmRXSmwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
    return {
        "__id": cluster,
        "name": cluster,
        "arn": f"arn:aws:eks:{w.region}:{w.aws_account_id}:cluster/{cluster}",
        "clusterId": _uuid(typ, cluster),
        "endpoint": f"https://{oidc_id}.gr7.{w.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": ca_data},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{w.region}.amazonaws.com/id/{oidc_id}"}]}],
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "createdAt": "2024-01-01T00:00:00Z",
        "version": inputs.get("version") or "1.31",
        "vpcConfig": {
            **dict(inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": _resource_id("sg", typ, cluster + "/cluster"),
            "vpcId": _resource_id("vpc", typ, cluster),
        },
    }


def _eks_node_group(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    cluster = str(inputs.get("clusterName", ""))
    group = inputs.get("nodeGroupName") or _auto_name(name, typ)
    group_uuid = _uuid(typ, cluster, group)
    return {
        "__id": f"{cluster}:{group}",
        "nodeGroupName": group,
        "arn": f"arn:aws:eks:{w.region}:{w.aws_account_id}:nodegroup/{cluster}/{group}/{group_uuid}",
        "status": "ACTIVE",
        "releaseVersion": f"{inputs.get('version') or '1.31'}.0-20241213",
        # EKS names the node group's Auto Scaling group eks-<node group>-<uuid>.
        "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{group_uuid}"}], "remoteAccessSecurityGroupId": ""}],
    }


def _eks_addon(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del name
    cluster, addon = str(inputs.get("clusterName", "")), str(inputs.get("addonName", ""))
    return {
        "__id": f"{cluster}:{addon}",
        "arn": f"arn:aws:eks:{w.region}:{w.aws_account_id}:addon/{cluster}/{addon}/{_uuid(typ, cluster, addon)}",
        "addonVersion": inputs.get("addonVersion") or _ADDON_VERSIONS.get(addon, "v1.0.0-eksbuild.1"),
        "createdAt": "2024-01-01T00:00:00Z",
        "modifiedAt": "2024-01-01T00:00:00Z",
    }


# Default add-on versions for Kubernetes 1.31 (aws eks describe-addon-versions, 2024-12).
_ADDON_VERSIONS: dict[str, str] = {
    "vpc-cni": "v1.19.0-eksbuild.1",
    "coredns": "v1.11.3-eksbuild.1",
    "kube-proxy": "v1.31.2-eksbuild.3",
    "aws-ebs-csi-driver": "v1.37.0-eksbuild.1",
    "eks-pod-identity-agent": "v1.3.4-eksbuild.1",
    "amazon-cloudwatch-observability": "v2.6.0-eksbuild.1",
}


# --- IAM and Auto Scaling --------------------------------------------------------------------------


def _oidc_provider(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del typ, name
    url = str(inputs.get("url", "")).removeprefix("https://")
    arn = f"arn:aws:iam::{w.aws_account_id}:oidc-provider/{url}"
    return {"__id": arn, "arn": arn}


def _role_policy_attachment(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del typ, w
    return {"__id": f"{inputs.get('role', name)}-{_suffix(name, str(inputs.get('policyArn', '')), length=20)}"}


def _role_policy(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del w
    policy = inputs.get("name") or _auto_name(name, typ)
    return {"__id": f"{inputs.get('role', '')}:{policy}", "name": policy}


def _autoscaling_tag(typ: str, name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del typ, name, w
    tag = inputs.get("tag") or {}
    return {"__id": f"{inputs.get('autoscalingGroupName', '')},{tag.get('key', '')}"}


# Per-type answers for the network and training-cluster resources; ``aws_ml.OUTPUTS`` is consulted
# first (it owns the ML-side types), then these, then the generic ARN/name answer.
_OUTPUTS: dict[str, Fake] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _ec2("rtbassoc", "route-table-association"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _ec2("sg", "security-group", name="default"),
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _security_group_rule,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _security_group_rule,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/flowLog:FlowLog": _ec2("fl", "vpc-flow-log"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:eks/addon:Addon": _eks_addon,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _role_policy_attachment,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:autoscaling/tag:Tag": _autoscaling_tag,
}


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of an ``aws:`` resource."""
    module = typ.split(":")[1].split("/", maxsplit=1)[0]
    kind = typ.rsplit(":", 1)[-1]
    region, account = world.region, world.aws_account_id
    if typ in ML_OUTPUTS:
        return ML_OUTPUTS[typ](name, inputs, world)
    if typ in _OUTPUTS:
        return _OUTPUTS[typ](typ, name, inputs, world)
    if typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or _auto_name(name, typ)
        return {
            "__id": bucket,
            "bucket": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
            "region": region,
        }
    if typ == "aws:kms/key:Key":
        key_id = _uuid(typ, name)
        return {"__id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
    if typ == "aws:kms/alias:Alias":
        alias = inputs.get("name") or f"alias/{name}"
        return {"__id": alias, "arn": f"arn:aws:kms:{region}:{account}:{alias}"}
    physical = inputs.get("name") or _auto_name(name, typ)
    if module == "iam":
        return {
            "__id": physical,
            "name": physical,
            "arn": f"arn:aws:iam::{account}:{kind[0].lower() + kind[1:]}/{physical}",
            "uniqueId": f"AROA{_suffix(typ, name, length=16).upper()}",
        }
    return {
        "name": physical,
        "arn": f"arn:aws:{module}:{region}:{account}:{kind.lower()}/{physical}",
    }


def _get_vpc(args: dict[str, Any], w: World) -> dict[str, Any]:
    vpc_id = str(args.get("id") or _resource_id("vpc", "getVpc", w.region))
    return {
        "id": vpc_id,
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:vpc/{vpc_id}",
        "cidrBlock": "10.0.0.0/16",
        "cidrBlockAssociations": [{"associationId": _resource_id("vpc-cidr-assoc", vpc_id, ""), "cidrBlock": "10.0.0.0/16", "state": "associated"}],
        "default": False,
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "instanceTenancy": "default",
        "mainRouteTableId": _resource_id("rtb", vpc_id, "main"),
        "ownerId": w.aws_account_id,
        "state": "available",
        "region": w.region,
        "tags": {},
    }


def _get_subnets(args: dict[str, Any], w: World) -> dict[str, Any]:
    """Three subnets per (VPC, filter set): an existing VPC with one subnet per tier and zone."""
    filters = args.get("filters") or []
    key = ";".join(f"{f.get('name')}={','.join(f.get('values') or [])}" for f in filters)
    return {
        "id": w.region,
        "ids": [_resource_id("subnet", key, str(zone)) for zone in range(3)],
        "filters": filters,
        "region": w.region,
    }


def _get_caller_identity(args: dict[str, Any], w: World) -> dict[str, Any]:
    del args
    return {
        "accountId": w.aws_account_id,
        "arn": f"arn:aws:iam::{w.aws_account_id}:user/mlfabric-offline",
        "userId": "AIDAOFFLINEPLAN",
        "id": w.aws_account_id,
    }


def _get_region(args: dict[str, Any], w: World) -> dict[str, Any]:
    del args
    return {
        "name": w.region,
        "region": w.region,
        "id": w.region,
        "endpoint": f"ec2.{w.region}.amazonaws.com",
        "description": w.region,
    }


def _get_partition(args: dict[str, Any], w: World) -> dict[str, Any]:
    del args, w
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}


def _get_availability_zones(args: dict[str, Any], w: World) -> dict[str, Any]:
    del args
    return {
        "names": [f"{w.region}{z}" for z in "abcdef"],
        "zoneIds": [f"use1-az{i}" for i in range(1, 7)],
        "id": w.region,
    }


def _get_addon_version(args: dict[str, Any], w: World) -> dict[str, Any]:
    addon = str(args.get("addonName", ""))
    return {
        "id": addon,
        "addonName": addon,
        "kubernetesVersion": args.get("kubernetesVersion"),
        "mostRecent": bool(args.get("mostRecent", False)),
        "version": _ADDON_VERSIONS.get(addon, "v1.0.0-eksbuild.1"),
        "region": w.region,
    }


INVOKES: dict[str, Callable[[dict[str, Any], World], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _get_caller_identity,
    "aws:index/getRegion:getRegion": _get_region,
    "aws:index/getPartition:getPartition": _get_partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _get_availability_zones,
    "aws:ec2/getVpc:getVpc": _get_vpc,
    "aws:ec2/getSubnets:getSubnets": _get_subnets,
    "aws:eks/getAddonVersion:getAddonVersion": _get_addon_version,
}
