"""Fake AWS answers: ids, physical names, ARNs and URLs in the formats AWS uses.

Which outputs a type computes comes from the installed ``pulumi_aws`` SDK (``derived_outputs``); this
module only formats them. ``outputs`` answers a registration with:

- its id: EC2 ids carry their real prefix and 17 hex digits (``vpc-``, ``subnet-``, ``sg-``, ``nat-``,
  ``eipalloc-``, ``lt-``…, table ``_EC2``); other types are identified by their physical name, their
  ARN or a composite the provider uses (``_IDS``);
- its physical name: the name input (``name``, ``bucket``, ``<kind>Name``), else a stable auto-name;
- the ``STYLE`` rules every type shares: ``arn`` (and any computed ``*Arn``) from ``_ARNS`` or the
  generic ``arn:aws:<service>:<region>:<account>:<kind>/<name>``, the account in ``ownerId`` and its
  kin, ``tagsAll``, and EC2 id prefixes for ``*SecurityGroupId``, ``*VpcId``, ``*SubnetId``…;
- the few values components and policies read that need a real shape (``_SPECIAL``): the EKS
  cluster's endpoint, certificate authority and OIDC issuer, a node group's Auto Scaling group, an
  ECR repository URL, SageMaker's provider-assigned names.

The ML-side ARN formats live in ``fakes_ml``. ``INVOKES`` answers the data sources components call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mlfabric.components.aws.fakes_ml import ARNS as ML_ARNS
from mlfabric.components.aws.fakes_ml import NAME_SEEDS, PROVIDER_NAMED, provider_name
from mlfabric.components.aws.fakes_ml import NAMED as ML_NAMED
from mlfabric.components.derived_outputs import Style, complete, schema_of
from mlfabric.components.fakes import Registration, World, digest, fields, uuid_of

Fake = Callable[[Registration], dict[str, Any]]

# EC2 resource types: (id prefix, the resource type in their ARN).
_EC2: Final[dict[str, tuple[str, str]]] = {
    "aws:ec2/vpc:Vpc": ("vpc", "vpc"),
    "aws:ec2/subnet:Subnet": ("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": ("igw", "internet-gateway"),
    "aws:ec2/eip:Eip": ("eipalloc", "elastic-ip"),
    "aws:ec2/natGateway:NatGateway": ("nat", "natgateway"),
    "aws:ec2/routeTable:RouteTable": ("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("rtbassoc", "route-table-association"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("sg", "security-group"),
    "aws:ec2/securityGroup:SecurityGroup": ("sg", "security-group"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("sgr", "security-group-rule"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("sgr", "security-group-rule"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce", "vpc-endpoint"),
    "aws:ec2/flowLog:FlowLog": ("fl", "vpc-flow-log"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("lt", "launch-template"),
    "aws:ec2/networkInterface:NetworkInterface": ("eni", "network-interface"),
    # not EC2, but ids of the same shape (fs- and 17 hex digits); its ARN is in _ARNS
    "aws:fsx/lustreFileSystem:LustreFileSystem": ("fs", "file-system"),
}

STUDIO_DOMAIN: Final = "aws:sagemaker/domain:Domain"
# Ids of other types (``str.format`` over the inputs, ``physical``, ``arn``, ``uuid``).
_IDS: Final[dict[str, str]] = {
    "aws:kms/key:Key": "{uuid}",
    "aws:sns/topic:Topic": "{arn}",
    "aws:sns/topicSubscription:TopicSubscription": "{arn}",
    "aws:sns/topicPolicy:TopicPolicy": "{arn}",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "{arn}",
    "aws:eks/nodeGroup:NodeGroup": "{clusterName}:{physical}",
    "aws:eks/addon:Addon": "{clusterName}:{addonName}",
    "aws:eks/accessEntry:AccessEntry": "{clusterName}:{principalArn}",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "{clusterName}#{principalArn}#{policyArn}",
    "aws:iam/rolePolicy:RolePolicy": "{role}:{physical}",
    "aws:autoscaling/tag:Tag": "{autoscalingGroupName},{tag[key]}",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "{repository}",
    "aws:appautoscaling/target:Target": "{resourceId}",
}
# Types identified by their physical name (besides every ``iam`` type).
_NAMED: Final = frozenset({
    "aws:s3/bucket:Bucket", "aws:cloudwatch/logGroup:LogGroup", "aws:eks/cluster:Cluster",
    "aws:kms/alias:Alias", *ML_NAMED,
})

# ARNs whose resource part is not ``<kind>/<physical name>``.
_ARNS: Final[dict[str, str]] = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{physical}",
    "aws:sns/topic:Topic": "arn:aws:sns:{region}:{account}:{physical}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{physical}",
    "aws:kms/key:Key": "arn:aws:kms:{region}:{account}:key/{uuid}",
    "aws:kms/alias:Alias": "arn:aws:kms:{region}:{account}:{physical}",
    "aws:eks/nodeGroup:NodeGroup": "arn:aws:eks:{region}:{account}:nodegroup/{clusterName}/{physical}/{uuid}",
    "aws:eks/addon:Addon": "arn:aws:eks:{region}:{account}:addon/{clusterName}/{addonName}/{uuid}",
    "aws:iam/role:Role": "arn:aws:iam::{account}:role{path}{physical}",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "arn:aws:iam::{account}:oidc-provider/{host}",
    "aws:fsx/lustreFileSystem:LustreFileSystem": "arn:aws:fsx:{region}:{account}:file-system/{id}",
    **ML_ARNS,
}
# Services whose ARNs name another service than the token's module.
_SERVICE: Final = {"appautoscaling": "application-autoscaling"}
# EC2 id prefixes of ids other resources hand out, by the property name's suffix.
_ID_PREFIXES: Final = {"SecurityGroupId": "sg", "VpcId": "vpc", "SubnetId": "subnet", "RouteTableId": "rtb",
                       "NetworkInterfaceId": "eni", "AllocationId": "eipalloc",
                       "NetworkAclId": "acl", "DhcpOptionsId": "dopt", "PrefixListId": "pl"}
# Outputs that repeat the resource's own id.
_ID_OUTPUTS: Final = {"aws:ec2/eip:Eip": "allocationId", "aws:kms/key:Key": "keyId",
                      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "securityGroupRuleId",
                      "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "securityGroupRuleId"}


def _auto_name(r: Registration) -> str:
    # Pulumi auto-naming: the logical name plus a random suffix; here a stable one.
    seed = NAME_SEEDS.get(r.typ, r.typ)
    if r.typ in PROVIDER_NAMED:
        return provider_name(r.name, seed)
    return f"{r.name}-{digest(seed, r.name, length=7)}"


def _name_key(r: Registration) -> str | None:
    """The input holding the physical name: ``name``, else ``<kind>Name``, else ``<kind>`` (``bucket``)."""
    schema = schema_of(r.typ)
    return schema.name_key("name", f"{r.camel_kind}Name", r.camel_kind) if schema else "name"


def _physical(r: Registration) -> str:
    if r.typ == "aws:kms/alias:Alias":
        return r.text("name", f"alias/{r.name}")
    key = _name_key(r)
    return r.text(key, _auto_name(r)) if key else _auto_name(r)


def _arn(r: Registration) -> str:
    template = _ARNS.get(r.typ)
    if template is None and r.typ in _EC2:
        template = f"arn:aws:ec2:{{region}}:{{account}}:{_EC2[r.typ][1]}/{{id}}"
    if template is None and r.module == "iam":
        template = f"arn:aws:iam::{{account}}:{r.camel_kind}/{{physical}}"
    if template is None:
        template = f"arn:aws:{_SERVICE.get(r.module, r.module)}:{{region}}:{{account}}:{r.kind.lower()}/{{physical}}"
    host = r.text("url").removeprefix("https://")
    return template.format_map(fields(r, account=r.world.aws_account_id, path=r.text("path", "/"),
                                      lower=r.physical.lower(), host=host))


def _resource_id(r: Registration) -> str:
    if r.typ == STUDIO_DOMAIN:
        # SageMaker domain ids: d- and 12 lowercase letters and digits.
        return f"d-{r.digest(length=12)}"
    if r.typ in _EC2:
        return f"{_EC2[r.typ][0]}-{r.digest(length=17)}"
    if r.typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        return f"{r.text('role', r.name)}-{digest(r.name, r.text('policyArn'), length=20)}"
    if r.typ in _IDS:
        return _IDS[r.typ].format_map(fields(r, arn=_arn(r)))
    if r.typ in _NAMED or r.module == "iam":
        return r.physical
    return ""


# base64 of a PEM header: enough for a kubeconfig to carry; nothing can verify it offline.
CA_DATA: Final = (
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURW"
    "UVFERXdwcmRXSmwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
)


def _eks_cluster(r: Registration) -> dict[str, Any]:
    oidc = digest(r.typ, r.physical, length=32).upper()
    region = r.world.region
    return {
        "endpoint": f"https://{oidc}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": CA_DATA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc}"}]}],
        # EKS creates the cluster security group (nodes without a launch-template group carry it).
        "vpcConfig": {**dict(r.inputs.get("vpcConfig") or {}),
                      "clusterSecurityGroupId": f"sg-{r.digest('clusterSecurityGroupId', length=17)}",
                      "vpcId": f"vpc-{r.digest('vpcId', length=17)}"},
    }


def _eks_node_group(r: Registration) -> dict[str, Any]:
    # EKS names the node group's Auto Scaling group eks-<node group>-<uuid>.
    group_uuid = uuid_of(r.typ, r.text("clusterName"), r.physical)
    return {"resources": [{"autoscalingGroups": [{"name": f"eks-{r.physical}-{group_uuid}"}],
                           "remoteAccessSecurityGroupId": ""}]}


def _ecr_repository(r: Registration) -> dict[str, Any]:
    account, region = r.world.aws_account_id, r.world.region
    return {"repositoryUrl": f"{account}.dkr.ecr.{region}.amazonaws.com/{r.physical}"}


def _studio_domain(r: Registration) -> dict[str, Any]:
    # Studio's URL is named after the domain id.
    return {"url": f"https://{r.resource_id}.studio.{r.world.region}.sagemaker.aws"}


def _fsx_lustre(r: Registration) -> dict[str, Any]:
    # FSx names a file system's DNS after its id; the Lustre mount name is 8 lowercase characters.
    return {"dnsName": f"{r.resource_id}.fsx.{r.world.region}.amazonaws.com",
            "mountName": digest(r.typ, r.resource_id, length=8)}


_SPECIAL: Final[dict[str, Fake]] = {
    STUDIO_DOMAIN: _studio_domain,
    "aws:fsx/lustreFileSystem:LustreFileSystem": _fsx_lustre,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:ecr/repository:Repository": _ecr_repository,
}


def _account(r: Registration, prop: str) -> str:
    del prop
    return r.world.aws_account_id


def _prefixed_id(r: Registration, prop: str) -> str | None:
    prefix = next((p for suffix, p in _ID_PREFIXES.items() if prop.endswith((suffix, suffix[0].lower() + suffix[1:]))), None)
    return f"{prefix}-{r.digest(prop, length=17)}" if prefix else None


STYLE: Final = Style(
    cloud="aws",
    rules={
        "arn": lambda r, _: _arn(r),
        "*Arn": lambda r, _: _arn(r),
        "ownerId": _account,
        "owner": _account,
        "registryId": _account,
        "accountId": _account,
        "tagsAll": lambda r, _: dict(r.inputs.get("tags") or {}),
        "*Id": _prefixed_id,
        "*Ip": lambda r, p: f"198.51.100.{int(r.digest(p, length=2), 16) % 254 + 1}",
    },
    defaults=("region",),
    host=lambda r: f"{r.physical or r.name}.{_SERVICE.get(r.module, r.module)}.{r.world.region}.amazonaws.com",
    ready="ACTIVE",
)


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of an ``aws:`` resource (``__id``: its id)."""
    r = Registration(typ, name, inputs, world)
    r.physical = _physical(r)
    r.resource_id = _resource_id(r)
    answer: dict[str, Any] = {"__id": r.resource_id} if r.resource_id else {}
    key = _name_key(r)
    if key and key not in inputs:
        answer[key] = r.physical  # an auto-name
    if typ in _ID_OUTPUTS:
        answer[_ID_OUTPUTS[typ]] = r.resource_id
    special = _SPECIAL.get(typ)
    if special is not None:
        answer.update(special(r))
    return complete(r, answer, STYLE)


# --- invokes -------------------------------------------------------------------------------------

# Default add-on versions for Kubernetes 1.31 (aws eks describe-addon-versions, 2024-12).
ADDON_VERSIONS: Final[dict[str, str]] = {
    "vpc-cni": "v1.19.0-eksbuild.1",
    "coredns": "v1.11.3-eksbuild.1",
    "kube-proxy": "v1.31.2-eksbuild.3",
    "aws-ebs-csi-driver": "v1.37.0-eksbuild.1",
    "eks-pod-identity-agent": "v1.3.4-eksbuild.1",
    "amazon-cloudwatch-observability": "v2.6.0-eksbuild.1",
}


def _get_vpc(args: dict[str, Any], w: World) -> dict[str, Any]:
    vpc_id = str(args.get("id") or f"vpc-{digest('getVpc', w.region, length=17)}")
    return {
        "id": vpc_id,
        "arn": f"arn:aws:ec2:{w.region}:{w.aws_account_id}:vpc/{vpc_id}",
        "cidrBlock": "10.0.0.0/16",
        "cidrBlockAssociations": [{"associationId": f"vpc-cidr-assoc-{digest(vpc_id, '', length=17)}",
                                   "cidrBlock": "10.0.0.0/16", "state": "associated"}],
        "default": False,
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "instanceTenancy": "default",
        "mainRouteTableId": f"rtb-{digest(vpc_id, 'main', length=17)}",
        "ownerId": w.aws_account_id,
        "state": "available",
        "region": w.region,
        "tags": {},
    }


def _get_subnets(args: dict[str, Any], w: World) -> dict[str, Any]:
    """Three subnets per (VPC, filter set): an existing VPC with one subnet per tier and zone."""
    filters = args.get("filters") or []
    key = ";".join(f"{f.get('name')}={','.join(f.get('values') or [])}" for f in filters)
    return {"id": w.region, "ids": [f"subnet-{digest(key, str(zone), length=17)}" for zone in range(3)],
            "filters": filters, "region": w.region}


def _get_route_tables(args: dict[str, Any], w: World) -> dict[str, Any]:
    """One route table per subnet the filters name (an existing VPC with a private table per zone)."""
    filters = args.get("filters") or []
    subnets = [v for f in filters if f.get("name") == "association.subnet-id" for v in f.get("values") or []]
    vpc_id = str(args.get("vpcId") or "")
    ids = [f"rtb-{digest(vpc_id, subnet, length=17)}" for subnet in subnets] or [
        f"rtb-{digest(vpc_id, 'main', length=17)}"]
    return {"id": w.region, "ids": ids, "vpcId": vpc_id, "filters": filters, "region": w.region}


INVOKES: dict[str, Callable[[dict[str, Any], World], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _, w: {
        "accountId": w.aws_account_id, "arn": f"arn:aws:iam::{w.aws_account_id}:user/mlfabric-offline",
        "userId": "AIDAOFFLINEPLAN", "id": w.aws_account_id},
    "aws:index/getRegion:getRegion": lambda _, w: {
        "name": w.region, "region": w.region, "id": w.region, "endpoint": f"ec2.{w.region}.amazonaws.com",
        "description": w.region},
    "aws:index/getPartition:getPartition": lambda _, __: {
        "partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"},
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _, w: {
        "names": [f"{w.region}{z}" for z in "abcdef"], "zoneIds": [f"use1-az{i}" for i in range(1, 7)],
        "id": w.region},
    "aws:ec2/getVpc:getVpc": _get_vpc,
    "aws:ec2/getSubnets:getSubnets": _get_subnets,
    "aws:ec2/getRouteTables:getRouteTables": _get_route_tables,
    "aws:eks/getAddonVersion:getAddonVersion": lambda args, w: {
        "id": str(args.get("addonName", "")), "addonName": str(args.get("addonName", "")),
        "kubernetesVersion": args.get("kubernetesVersion"), "mostRecent": bool(args.get("mostRecent", False)),
        "version": ADDON_VERSIONS.get(str(args.get("addonName", "")), "v1.0.0-eksbuild.1"), "region": w.region},
}
