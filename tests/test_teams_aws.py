"""Teams, Kueue queues, EFA, FSx for Lustre and capacity reservations on AWS, through the offline
plan of the prod example stack (and small specs of our own).

What a mock test cannot prove: that IAM evaluates the team policies as intended (the policy
simulator or a real account would), that EKS accepts namespace-scoped access policies for these
principals, that Kueue admits a JobSet all-or-nothing, that nodes launched from the launch template
really get four EFA devices in one placement group, that FSx creates its S3 service-linked role
with the data repository association (the KMS grant names it) or that the CSI driver mounts the
volume. Those need a real account (README: limits).
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mlfabric.components.aws import spec_rules
from mlfabric.components.aws.efa_catalog import efa_interfaces
from mlfabric.components.aws.teams import TeamScope, principal_slug, team_policy
from mlfabric.components.spec import parse_spec
from mlfabric.testing import Plan, ResourceRecord
from tests.capability_support import cached_plan, deep_merge, stack_spec
from tests.helpers import ROOT, spec_data

ROLE = "aws:iam/role:Role"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
FSX = "aws:fsx/lustreFileSystem:LustreFileSystem"
KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2"
ACCOUNT = "123456789012"
REGION = "us-east-1"
CRDS = ROOT / "tests" / "crd_schemas"
# the prod stack's pools (a patch replaces the whole list)
_A100: dict[str, Any] = {"name": "a100", "accelerator": "a100-80gb", "gpus_per_node": 8, "max_nodes": 4, "spot": False}
_L4: dict[str, Any] = {"name": "l4", "accelerator": "l4", "max_nodes": 8}


@pytest.fixture(scope="module")
def prod() -> Plan:
    return cached_plan("prod", "{}")


def _one(plan: Plan, type_token: str, name: str) -> ResourceRecord:
    [record] = [r for r in plan.resources if r.type == type_token and r.name == name]
    return record


def _named(plan: Plan, type_token: str) -> dict[str, ResourceRecord]:
    return {r.name: r for r in plan.resources if r.type == type_token}


@cache
def _crd_spec_schema(kind: str) -> dict[str, Any]:
    path = next(CRDS.glob(f"*_{kind.lower()}s.json"))
    schema: dict[str, Any] = json.loads(path.read_text())["openAPIV3Schema"]["properties"]["spec"]
    return schema


def _valid(kind: str, spec: dict[str, Any]) -> None:
    jsonschema.validate(spec, _crd_spec_schema(kind))


# --- namespaces, service accounts, identities ----------------------------------------------------


def test_each_team_gets_its_namespace_and_a_service_account_annotated_with_its_own_role(prod: Plan) -> None:
    namespaces = {r.inputs["metadata"]["name"] for r in prod.of_type("kubernetes:core/v1:Namespace")}
    assert {"team-vision", "team-fraud"} <= namespaces
    roles = {r.inputs.get("name"): r for r in prod.of_type(ROLE)}
    for team in ("vision", "fraud"):
        account = _one(prod, "kubernetes:core/v1:ServiceAccount", f"fraud-prod-{team}").inputs["metadata"]
        assert account["namespace"] == f"team-{team}" and account["name"] == team
        arn = f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-team-{team}"
        assert account["annotations"] == {"eks.amazonaws.com/role-arn": arn}
        assert roles[f"fraud-prod-team-{team}"].inputs["tags"]["mlfabric-team"] == team


def test_a_team_role_trusts_only_its_own_service_account_of_this_cluster(prod: Plan) -> None:
    issuer = _one(prod, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "fraud-prod-oidc").inputs["url"]
    host = issuer.removeprefix("https://")
    trust = json.loads(_one(prod, ROLE, "fraud-prod-team-vision").inputs["assumeRolePolicy"])
    # Besides the team's notebooks (SageMaker Studio of this account: tests/test_lifecycle_aws.py),
    # only the team's service account of this cluster assumes the role.
    web_identity = [s for s in trust["Statement"] if s.get("Sid") != "SageMakerStudioOfThisAccount"]
    assert len(trust["Statement"]) - len(web_identity) <= 1
    assert web_identity == [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": "system:serviceaccount:team-vision:vision",
                                       f"{host}:aud": "sts.amazonaws.com"}},
    }]


def _policy(plan: Plan, team: str) -> dict[str, Any]:
    [inline] = _one(plan, ROLE, f"fraud-prod-team-{team}").inputs["inlinePolicies"]
    return {s["Sid"]: s for s in json.loads(inline["policy"])["Statement"]}


def test_a_team_role_lists_reads_and_writes_only_its_prefix_of_the_platform_buckets(prod: Plan) -> None:
    arns = sorted(f"arn:aws:s3:::{_bucket(prod, b)}" for b in ("datasets", "artifacts", "models"))
    statements = _policy(prod, "fraud")
    assert statements["ListOwnPrefix"] == {
        "Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arns,
        "Condition": {"StringLike": {"s3:prefix": ["fraud-team/*"]}},
    }
    assert statements["ReadWriteOwnPrefix"]["Resource"] == [f"{arn}/fraud-team/*" for arn in arns]
    assert statements["ReadWriteOwnPrefix"]["Action"] == [
        "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts"]
    # the default prefix of a team that names none
    assert _policy(prod, "vision")["ReadWriteOwnPrefix"]["Resource"] == [f"{arn}/teams/vision/*" for arn in arns]
    # no statement reaches outside the prefix
    for statements_of_team in (_policy(prod, "fraud"), _policy(prod, "vision")):
        s3 = [s for s in statements_of_team.values() if any(a.startswith("s3:") for a in _actions(s))]
        assert {s["Sid"] for s in s3} == {"ListOwnPrefix", "ReadWriteOwnPrefix"}


def _bucket(plan: Plan, name: str) -> str:
    """The physical name of a platform bucket (auto-named: the record's id)."""
    bucket = _one(plan, "aws:s3/bucket:Bucket", f"fraud-prod-{name}").id
    assert bucket is not None
    return bucket


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_a_team_role_uses_the_storage_key_only_through_s3_and_pulls_the_platform_images(prod: Plan) -> None:
    key = _one(prod, FSX, "fraud-prod-shared-fs").inputs["kmsKeyId"]  # the storage key (checked below)
    statements = _policy(prod, "vision")
    assert statements["UseStorageKeyThroughS3"] == {
        "Sid": "UseStorageKeyThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey",
                                                                        "kms:DescribeKey"],
        "Resource": key, "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
    }
    repositories = [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/fraud-prod/{r}" for r in ("scorer", "trainer")]
    assert statements["PullPlatformImages"]["Resource"] == repositories
    assert statements["PullPlatformImages"]["Action"] == [
        "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    assert statements["LogInToEcr"]["Action"] == "ecr:GetAuthorizationToken"


def test_a_team_policy_without_buckets_or_registry_grants_nothing_on_them() -> None:
    policy = team_policy(TeamScope(prefix="teams/x/", region=REGION, buckets=[], key=None, repositories=[]))
    assert policy["Statement"] == []


def test_the_stack_outputs_list_each_teams_namespace_queue_and_identity(prod: Plan) -> None:
    assert prod.outputs["teams"] == {
        team: {"namespace": f"team-{team}", "queue": team, "service_account": team,
               "identity": f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-team-{team}", "storage_prefix": prefix}
        for team, prefix in (("vision", "teams/vision/"), ("fraud", "fraud-team/"))
    }


# --- queues ---------------------------------------------------------------------------------------


def test_cluster_queues_hold_each_teams_quota_and_borrowing_limit_in_one_cohort(prod: Plan) -> None:
    queues = _named(prod, f"{KUEUE}:ClusterQueue")
    vision = queues["fraud-prod-vision-queue"].inputs["spec"]
    fraud = queues["fraud-prod-fraud-queue"].inputs["spec"]
    for spec in (vision, fraud):
        _valid("ClusterQueue", spec)
        assert spec["cohortName"] == "fraud-prod"
    a100, l4 = vision["resourceGroups"][0]["flavors"]
    assert a100["name"] == "a100" and l4["name"] == "l4"
    # p4de.24xlarge: 96 vCPUs and 1152 GiB for 8 GPUs -> 12 CPUs and 144 GiB per GPU
    assert a100["resources"] == [
        {"name": "cpu", "nominalQuota": 192, "borrowingLimit": 96},
        {"name": "memory", "nominalQuota": "2304Gi", "borrowingLimit": "1152Gi"},
        {"name": "nvidia.com/gpu", "nominalQuota": 16, "borrowingLimit": 8},
    ]
    assert "borrowingLimit" not in l4["resources"][2]
    fraud_a100, fraud_l4 = fraud["resourceGroups"][0]["flavors"]
    assert fraud_a100["resources"][2] == {"name": "nvidia.com/gpu", "nominalQuota": 8}  # borrows freely
    assert fraud_l4["resources"][2] == {"name": "nvidia.com/gpu", "nominalQuota": 4, "borrowingLimit": 0}


def test_local_queues_and_flavors_are_valid_kueue_objects(prod: Plan) -> None:
    local = _named(prod, f"{KUEUE}:LocalQueue")["fraud-prod-vision-local-queue"].inputs
    assert local["metadata"]["namespace"] == "team-vision"
    assert local["spec"] == {"clusterQueue": "vision"}
    _valid("LocalQueue", local["spec"])
    flavors = _named(prod, f"{KUEUE}:ResourceFlavor")
    assert set(flavors) == {"fraud-prod-flavor-a100", "fraud-prod-flavor-l4"}
    for flavor in flavors.values():
        _valid("ResourceFlavor", flavor.inputs["spec"])


def test_queued_provisioning_creates_no_admission_check_on_aws(prod: Plan) -> None:
    assert not [r for r in prod.resources if r.type.endswith((":AdmissionCheck", ":ProvisioningRequestConfig"))]


# --- member access ---------------------------------------------------------------------------------


def test_members_get_one_access_entry_each_and_namespace_scoped_access_policies(prod: Plan) -> None:
    entries = {r.inputs["principalArn"] for r in prod.of_type(ENTRY)}
    members = {f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in ("MLEngineers", "VisionScientists", "VisionAnalysts",
                                                            "FraudLeads")}
    assert members <= entries
    # one entry per principal across rbac and teams
    assert len(entries) == len(prod.of_type(ENTRY))
    scoped = {
        (r.inputs["principalArn"].rsplit("/", 1)[1], r.inputs["policyArn"].rsplit("/", 1)[1]):
            (r.inputs["accessScope"]["type"], r.inputs["accessScope"].get("namespaces"))
        for r in prod.of_type(ASSOCIATION) if r.name.startswith("fraud-prod-member-")
    }
    assert scoped == {
        ("MLEngineers", "AmazonEKSEditPolicy"): ("namespace", ["team-vision", "team-fraud"]),
        ("VisionScientists", "AmazonEKSEditPolicy"): ("namespace", ["team-vision"]),
        ("VisionAnalysts", "AmazonEKSViewPolicy"): ("namespace", ["team-vision"]),
        ("FraudLeads", "AmazonEKSAdminPolicy"): ("namespace", ["team-fraud"]),
    }
    # access entries, not RoleBindings (the cluster authenticates with access entries only)
    assert not [r for r in prod.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
                if r.inputs["metadata"].get("namespace", "").startswith("team-")]


def test_principal_slugs_are_readable_and_distinct_across_accounts() -> None:
    assert principal_slug("arn:aws:iam::123456789012:role/team/Vision") == "123456789012-role-team-Vision"
    assert principal_slug("arn:aws:iam::210987654321:role/Vision") != principal_slug(
        "arn:aws:iam::123456789012:role/Vision")


# --- EFA --------------------------------------------------------------------------------------------


def test_the_a100_pool_gets_four_efa_interfaces_a_cluster_placement_group_and_one_subnet(prod: Plan) -> None:
    template = _one(prod, TEMPLATE, "fraud-prod-gpu-a100").inputs
    efa_group = _one(prod, SG, "fraud-prod-efa")
    cluster_group = _one(prod, "aws:eks/cluster:Cluster", "fraud-prod")
    interfaces = template["networkInterfaces"]
    assert [(i["networkCardIndex"], i["deviceIndex"], i["interfaceType"]) for i in interfaces] == [
        (0, 0, "efa"), (1, 1, "efa"), (2, 1, "efa"), (3, 1, "efa")]
    assert efa_interfaces("p4de.24xlarge") == 4
    [primary_cluster_group, primary_efa] = interfaces[0]["securityGroups"]
    assert primary_cluster_group.startswith("sg-") and primary_efa == efa_group.id
    assert all(i["securityGroups"] == [efa_group.id] for i in interfaces[1:])
    group = _one(prod, "aws:ec2/placementGroup:PlacementGroup", "fraud-prod-gpu-a100")
    assert group.inputs["strategy"] == "cluster"
    assert template["placement"]["groupName"].startswith("fraud-prod-gpu-a100-")  # the group's auto-name
    node_group = _one(prod, NODE_GROUP, "fraud-prod-gpu-a100").inputs
    assert len(node_group["subnetIds"]) == 1
    assert node_group["labels"]["mlfabric.dev/efa"] == "true"
    assert node_group["tags"]["k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa"] == "4"
    del cluster_group


def test_the_efa_security_group_allows_all_traffic_only_to_and_from_itself(prod: Plan) -> None:
    group = _one(prod, SG, "fraud-prod-efa")
    rules = [r.inputs for r in [*prod.of_type(INGRESS), *prod.of_type(EGRESS)] if r.inputs["securityGroupId"] == group.id]
    assert len(rules) == 2
    assert all(r["ipProtocol"] == "-1" and r["referencedSecurityGroupId"] == group.id for r in rules)
    assert all("cidrIpv4" not in r for r in rules)


def test_the_l4_pool_keeps_standard_networking_and_says_so(prod: Plan) -> None:
    template = _one(prod, TEMPLATE, "fraud-prod-gpu-l4").inputs
    assert "networkInterfaces" not in template and "placement" not in template
    assert len(_one(prod, NODE_GROUP, "fraud-prod-gpu-l4").inputs["subnetIds"]) == 3
    assert spec_rules.notes(prod.spec) == [
        "training.gpu_pools[1].interconnect: standard networking (no EFA on g6.xlarge)"]


def test_the_efa_device_plugin_runs_only_on_efa_nodes_without_a_token(prod: Plan) -> None:
    plugin = _one(prod, "kubernetes:apps/v1:DaemonSet", "fraud-prod-aws-efa-k8s-device-plugin").inputs
    pod = plugin["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"mlfabric.dev/efa": "true"}
    assert pod["automountServiceAccountToken"] is False
    assert "hostNetwork" not in pod
    [container] = pod["containers"]
    assert container["image"].endswith("/eks/aws-efa-k8s-device-plugin:v0.5.20")
    policy = _one(prod, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "fraud-prod-aws-efa-k8s-device-plugin")
    assert policy.inputs["spec"]["ingress"] == [] and policy.inputs["spec"]["egress"] == []


def test_interconnect_off_gives_the_pool_standard_networking() -> None:
    patch = {"training": {"gpu_pools": [{**_A100, "interconnect": "off"}, _L4]}}
    plan = cached_plan("prod", json.dumps(patch, sort_keys=True))
    assert "networkInterfaces" not in _one(plan, TEMPLATE, "fraud-prod-gpu-a100").inputs
    assert not plan.of_type("aws:ec2/placementGroup:PlacementGroup")
    assert not [r for r in plan.of_type(SG) if r.name == "fraud-prod-efa"]
    assert spec_rules.notes(plan.spec) == [  # only the l4 pool (auto) gets the note; off says nothing
        "training.gpu_pools[1].interconnect: standard networking (no EFA on g6.xlarge)"]


# --- shared file system ----------------------------------------------------------------------------


def test_the_shared_file_system_is_encrypted_with_the_storage_key_private_and_protected(prod: Plan) -> None:
    fs = _one(prod, FSX, "fraud-prod-shared-fs")
    storage_key = _one(prod, "aws:kms/key:Key", "fraud-prod-storage")
    assert fs.inputs["kmsKeyId"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{storage_key.id}"
    assert fs.inputs["deploymentType"] == "PERSISTENT_2" and fs.inputs["storageCapacity"] == 2400
    assert fs.protect and fs.retain_on_delete
    first_subnet = _one(prod, NODE_GROUP, "fraud-prod-gpu-a100").inputs["subnetIds"][0]
    assert fs.inputs["subnetIds"] == first_subnet
    group = _one(prod, SG, "fraud-prod-shared-fs")
    assert fs.inputs["securityGroupIds"] == [group.id]
    rules = [r.inputs for r in [*prod.of_type(INGRESS), *prod.of_type(EGRESS)] if r.inputs["securityGroupId"] == group.id]
    efa_primary = _one(prod, TEMPLATE, "fraud-prod-gpu-a100").inputs["networkInterfaces"][0]["securityGroups"][0]
    assert {(r["ipProtocol"], r["fromPort"], r["toPort"]) for r in rules} == {("tcp", 988, 988), ("tcp", 1018, 1023)}
    # Lustre traffic only with the cluster security group (every node) and the file system itself
    assert {r["referencedSecurityGroupId"] for r in rules} == {efa_primary, group.id}
    assert all("cidrIpv4" not in r for r in rules)


def test_the_shared_file_system_is_linked_to_the_datasets_bucket(prod: Plan) -> None:
    [link] = prod.of_type("aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation")
    fs = _one(prod, FSX, "fraud-prod-shared-fs")
    datasets = _bucket(prod, "datasets")
    assert link.inputs["fileSystemId"] == fs.id
    assert link.inputs["dataRepositoryPath"] == f"s3://{datasets}"
    assert link.inputs["s3"]["autoImportPolicy"]["events"] == ["NEW", "CHANGED", "DELETED"]
    [grant] = prod.of_type("aws:kms/grant:Grant")
    assert grant.inputs["granteePrincipal"] == (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/"
        f"AWSServiceRoleForFSxS3Access_{fs.id}")
    assert grant.inputs["constraints"] == [
        {"encryptionContextSubset": {"aws:s3:arn": f"arn:aws:s3:::{datasets}"}}]
    assert "CreateGrant" not in grant.inputs["operations"]


def test_each_team_claims_the_file_system_through_the_fsx_csi_driver(prod: Plan) -> None:
    fs = _one(prod, FSX, "fraud-prod-shared-fs")
    volume = _one(prod, "kubernetes:core/v1:PersistentVolume", "fraud-prod-vision-shared").inputs["spec"]
    assert volume["csi"] == {"driver": "fsx.csi.aws.com", "volumeHandle": fs.id, "volumeAttributes": {
        "dnsname": f"{fs.id}.fsx.{REGION}.amazonaws.com", "mountname": volume["csi"]["volumeAttributes"]["mountname"]}}
    assert volume["claimRef"] == {"namespace": "team-vision", "name": "shared-data"}
    assert volume["persistentVolumeReclaimPolicy"] == "Retain"
    addon = _one(prod, "aws:eks/addon:Addon", "fraud-prod-aws-fsx-csi-driver").inputs
    assert addon["serviceAccountRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{_one(prod, ROLE, 'fraud-prod-fsx-csi').id}"
    [policy] = [r for r in prod.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "fraud-prod-fsx-csi"]
    assert json.loads(policy.inputs["policy"])["Statement"][0]["Resource"] == (
        f"arn:aws:fsx:{REGION}:{ACCOUNT}:file-system/{fs.id}")
    assert prod.outputs["shared_fs"]["volume_handle"] == fs.id


def test_without_shared_fs_or_teams_the_dev_stack_has_none_of_it() -> None:
    plan = cached_plan("dev", "{}")
    for token in (FSX, "mlfabric:teams:AwsTeams", "aws:ec2/placementGroup:PlacementGroup", "aws:kms/grant:Grant"):
        assert not plan.of_type(token), token
    assert plan.outputs.get("shared_fs") == {}
    # Kueue and JobSet are on every cluster
    assert len(_named(plan, f"{KUEUE}:ResourceFlavor")) == 1


# --- reservations ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reservation,target", [
    ("cr-0123456789abcdef0", {"capacityReservationId": "cr-0123456789abcdef0"}),
    (f"arn:aws:resource-groups:{REGION}:{ACCOUNT}:group/gpu-blocks",
     {"capacityReservationResourceGroupArn": f"arn:aws:resource-groups:{REGION}:{ACCOUNT}:group/gpu-blocks"}),
])
def test_a_reserved_pool_launches_into_its_capacity_reservation(reservation: str, target: dict[str, str]) -> None:
    patch = {"training": {"gpu_pools": [_A100, {**_L4, "spot": False, "reservation": reservation}]}}
    plan = cached_plan("prod", json.dumps(patch, sort_keys=True))
    template = _one(plan, TEMPLATE, "fraud-prod-gpu-l4").inputs
    assert template["capacityReservationSpecification"] == {"capacityReservationTarget": target}
    assert _one(plan, NODE_GROUP, "fraud-prod-gpu-l4").inputs["capacityType"] == "ON_DEMAND"


# --- refusals ---------------------------------------------------------------------------------------


def _validate(tmp_path: Path, patch: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlfabric:platform": deep_merge(stack_spec("prod"), patch)}}))
    return subprocess.run([sys.executable, "-m", "mlfabric", "validate", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("patch,line", [
    ({"training": {"gpu_pools": [{**_A100, "queued_provisioning": True}, _L4]}},
     "training.gpu_pools[0].queued_provisioning: not supported on aws"),
    ({"training": {"shared_fs": {"capacity_gib": 3000}}},
     "training.shared_fs.capacity_gib: FSx for Lustre (PERSISTENT_2, SSD) takes 1200 GiB or a multiple of 2400 GiB, "
     "e.g. 2400 or 4800 (got 3000)"),
    # (the prod endpoint without its drift monitoring, and no batch job: both would also need the datasets bucket)
    ({"storage": {"buckets": [{"name": "artifacts"}]}, "batch": None, "serving": {"endpoints": [
        {"name": "scorer", "model": "fraud-detector", "image": "scorer:1.4.2", "instance": "ml.g5.xlarge"}]}},
     "training.shared_fs.import_datasets: links the file system to the 'datasets' bucket, which storage.buckets does "
     "not declare (got true)"),
    ({"training": {"gpu_pools": [{**_A100, "reservation": "my-reservation"}, _L4]}},
     "training.gpu_pools[0].reservation: must be an EC2 capacity reservation id"),
    ({"training": {"gpu_pools": [_A100, {**_L4, "spot": True, "reservation": "cr-0123456789abcdef0"}]}},
     "training.gpu_pools[1].reservation: a capacity reservation holds on-demand capacity"),
    # (no batch job: vision's batch job would need the quota this team list drops)
    ({"batch": None,
      "teams": [{"name": "vision", "members": {"reader": [f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-data-scientist"]}}]},
     "teams[0].members.reader[0]: is one of the platform's own IAM roles"),
])
def test_what_aws_cannot_honour_is_refused_by_validate_naming_the_field(
    tmp_path: Path, patch: dict[str, Any], line: str
) -> None:
    result = _validate(tmp_path, patch)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [problem] = result.stderr.splitlines()
    assert problem.startswith(line), problem


def test_the_prod_example_validates(tmp_path: Path) -> None:
    result = _validate(tmp_path, {})
    assert result.returncode == 0, result.stderr


def test_small_and_incremental_fsx_sizes_are_accepted() -> None:
    for size in (1200, 2400, 4800, 96000):
        parse_spec(spec_data("aws", "prod", storage={"buckets": [{"name": "datasets"}]}, training={
            "shared_fs": {"capacity_gib": size, "import_datasets": True}}))


def test_mlfabric_cost_lists_the_shared_file_system_per_gib_and_unpriced_without_a_row(prod: Plan) -> None:
    from mlfabric.components import prices
    from mlfabric.cost import estimate

    [item] = [i for i in estimate(prod).items if i.item == "FSx for Lustre fraud-prod-shared-fs"]
    assert (item.component, item.unit, item.idle_units, item.full_units) == ("cluster", "GiB", 2400, 2400)
    row = prices.lookup("aws", "service", "fsx-lustre-persistent_2-ssd-125", REGION)
    if row is None:
        assert not item.priced and item.note == "no fsx-lustre-persistent_2-ssd-125 row in prices.json"
    else:
        assert item.usd_per_unit_month == row.usd_per_month
