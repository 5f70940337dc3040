"""Mutation test of the pack on AWS: the prod example stack is planned once (and once more with
``storage.replication_region``), then each secure property the pack guards is flipped, one at a time,
in a copy of the recorded resources; the whole pack under the prod policy config must report a
violation of the guarding rule that names the resource (the bucket, for settings S3 keeps in
separate resources that stack rules join back to their bucket).

What this cannot prove: that the engine hands over the same props as the mock runtime records, or
that a property the pack does not read is safe (a mutation list only covers what it lists).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mlfabric.check import PackConfig, RuleSetting, Source, load_pack_config, run_pack
from mlfabric.plan import ResourceRecord
from mlfabric.policies.rules import POLICIES

ROOT = Path(__file__).resolve().parents[2]
REPLICATED = {"storage": {"replication_region": "us-west-2"}}

Inputs = dict[str, Any]


@cache
def _plan(replicated: bool) -> tuple[ResourceRecord, ...]:
    from mlfabric import stackfile
    from mlfabric.plan import plan_spec, plan_stack

    stack = stackfile.load(ROOT / "stacks" / "Pulumi.prod.yaml")
    if not replicated:
        return tuple(plan_stack(stack).resources)
    spec = copy.deepcopy(stack.spec_data)
    spec["storage"] = {**spec.get("storage", {}), **REPLICATED["storage"]}
    return tuple(plan_spec(spec, stack="prod").resources)


def _violations(records: list[ResourceRecord], properties: dict[str, dict[str, Any]] | None = None) -> set[tuple[str, str]]:
    """(rule, urn) of every violation under the prod policy config, with ``properties`` overlaid per rule."""
    config = load_pack_config(ROOT / "policies" / "config" / "prod.json")
    rules = dict(config.rules)
    for rule_id, extra in (properties or {}).items():
        base = rules.get(rule_id, RuleSetting())
        rules[rule_id] = RuleSetting(base.enforcement, {**base.properties, **extra})
    source = Source("prod", "mlfabric", "prod", "aws", "", records)
    report = run_pack(source, PackConfig(config.path, config.all_enforcement, rules), POLICIES)
    return {(v.rule_id, v.urn or "") for v in report.violations}


# --- mutations ------------------------------------------------------------------------------------------


def _policy_of(inputs: Inputs) -> tuple[dict[str, Any], Callable[[dict[str, Any]], None]]:
    """The role's inline policy (or the resource's policy) as an object, and how to write it back."""
    if "inlinePolicies" in inputs:
        inline = inputs["inlinePolicies"][0]
        return json.loads(inline["policy"]), lambda d: inline.__setitem__("policy", json.dumps(d))
    return json.loads(inputs["policy"]), lambda d: inputs.__setitem__("policy", json.dumps(d))


def drop_deny(inputs: Inputs) -> None:
    document, save = _policy_of(inputs)
    document["Statement"] = [s for s in document["Statement"] if s["Effect"] != "Deny"]
    save(document)


def open_hatch(inputs: Inputs) -> None:
    inputs["tags"] = {**inputs["tags"], "mlfabric-guardrail-changes": "allowed"}


def alarms_everywhere(inputs: Inputs) -> None:
    document, save = _policy_of(inputs)
    for statement in document["Statement"]:
        if statement["Sid"] == "ReadPlatformAlarms":
            statement["Resource"] = ["*"]
    save(document)


def root_uses_key(inputs: Inputs) -> None:
    document, save = _policy_of(inputs)
    document["Statement"][0]["Action"] = "kms:*"
    save(document)


def full_access(inputs: Inputs) -> None:
    inputs["policy"] = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})


def remove(key: str) -> Callable[[Inputs], None]:
    return lambda inputs: inputs.pop(key)


def setting(path: str, value: Any) -> Callable[[Inputs], None]:
    def mutate(inputs: Inputs) -> None:
        *parents, last = path.split(".")
        target: Any = inputs
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value

    return mutate


def unpin(inputs: Inputs) -> None:
    container = inputs["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"].split("@", 1)[0]


@dataclass(frozen=True)
class Mutation:
    id: str
    rule: str
    type: str
    name: str
    mutate: Callable[[Inputs], None]
    reported_on: tuple[str, str] | None = None  # (type, name) the rule names, when not the mutated one
    replicated: bool = False
    # rule properties the mutation needs beyond the prod config
    properties: dict[str, dict[str, Any]] | None = None


ROLE, KEY, BUCKET = "aws:iam/role:Role", "aws:kms/key:Key", "aws:s3/bucket:Bucket"
VPCE, ADDON = "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:eks/addon:Addon"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DATASETS = (BUCKET, "fraud-prod-datasets")

MUTATIONS = [
    # issue 15 (this cloud's hardening rules)
    Mutation("admin-deny-dropped", "mlf-aws-guardrail-deny", ROLE, "fraud-prod-platform-admin", drop_deny),
    Mutation("admin-hatch-opened", "mlf-aws-guardrail-hatch", ROLE, "fraud-prod-platform-admin", open_hatch),
    Mutation("alarm-reads-on-star", "mlf-aws-scoped-reads", ROLE, "fraud-prod-data-scientist", alarms_everywhere),
    Mutation("storage-key-default-policy", "mlf-aws-kms-key-policy", KEY, "fraud-prod-storage", remove("policy")),
    Mutation("cluster-key-root-uses", "mlf-aws-kms-key-policy", KEY, "fraud-prod-cluster", root_uses_key),
    Mutation("cni-network-policy-off", "mlf-aws-vpc-cni-network-policy", ADDON, "fraud-prod-vpc-cni",
             setting("configurationValues", '{"enableNetworkPolicy": "false"}')),
    Mutation("s3-endpoint-policy-removed", "mlf-aws-vpc-endpoint-policy", VPCE, "fraud-prod-s3", remove("policy")),
    Mutation("sts-endpoint-full-access", "mlf-aws-vpc-endpoint-policy", VPCE, "fraud-prod-sts", full_access),
    Mutation("replication-removed", "mlf-aws-s3-replication",
             "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "fraud-prod-models", setting("rules", []),
             reported_on=(BUCKET, "fraud-prod-models"), replicated=True),
    # the existing rules for AWS
    Mutation("sse-s3-instead-of-kms", "mlf-s3-kms-encryption",
             "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
             "fraud-prod-datasets", setting("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256"),
             reported_on=DATASETS),
    Mutation("public-policy-allowed", "mlf-s3-public-access-block",
             "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "fraud-prod-datasets",
             setting("blockPublicPolicy", False), reported_on=DATASETS),
    Mutation("versioning-suspended", "mlf-s3-versioning", "aws:s3/bucketVersioning:BucketVersioning",
             "fraud-prod-datasets", setting("versioningConfiguration.status", "Suspended"), reported_on=DATASETS),
    Mutation("bucket-force-destroy", "mlf-bucket-no-force-destroy", BUCKET, "fraud-prod-models",
             setting("forceDestroy", True)),
    Mutation("key-rotation-off", "mlf-kms-key-rotation", KEY, "fraud-prod-registry", setting("enableKeyRotation", False)),
    Mutation("mutable-tags", "mlf-registry-immutable-tags", "aws:ecr/repository:Repository", "fraud-prod-repo-scorer",
             setting("imageTagMutability", "MUTABLE")),
    Mutation("public-cluster-endpoint", "mlf-cluster-private-endpoint", "aws:eks/cluster:Cluster", "fraud-prod",
             setting("vpcConfig.endpointPublicAccess", True)),
    Mutation("cluster-secrets-unencrypted", "mlf-cluster-secrets-encryption", "aws:eks/cluster:Cluster", "fraud-prod",
             remove("encryptionConfig")),
    Mutation("autoscaler-writable-root", "mlf-k8s-workload-hardening", DEPLOYMENT, "fraud-prod-cluster-autoscaler",
             setting("spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem", False)),
    # requireDigest is off in the prod config (the shared device plugin is pinned by tag only)
    Mutation("autoscaler-by-tag", "mlf-k8s-workload-hardening", DEPLOYMENT, "fraud-prod-cluster-autoscaler", unpin,
             properties={"mlf-k8s-workload-hardening": {"requireDigest": True}}),
    Mutation("autoscaler-fence-removed", "mlf-k8s-network-policy", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
             "fraud-prod-cluster-autoscaler", setting("spec.podSelector.matchLabels", {"app": "other"}),
             reported_on=(DEPLOYMENT, "fraud-prod-cluster-autoscaler")),
]


def _urn(records: list[ResourceRecord], type_token: str, name: str) -> str:
    [record] = [r for r in records if r.type == type_token and r.name == name]
    return record.urn


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_each_flipped_secure_property_is_caught_and_names_the_resource(mutation: Mutation) -> None:
    records = [copy.deepcopy(r) for r in _plan(mutation.replicated)]
    target = next(r for r in records if r.type == mutation.type and r.name == mutation.name)
    reported = _urn(records, *mutation.reported_on) if mutation.reported_on else target.urn
    assert (mutation.rule, reported) not in _violations(records, mutation.properties), "must pass unmutated"
    mutation.mutate(target.inputs)
    assert (mutation.rule, reported) in _violations(records, mutation.properties)


def test_the_unmutated_prod_plan_has_no_mandatory_violation() -> None:
    for replicated in (False, True):
        source = Source("prod", "mlfabric", "prod", "aws", "", list(_plan(replicated)))
        report = run_pack(source, load_pack_config(ROOT / "policies" / "config" / "prod.json"), POLICIES)
        assert not [v for v in report.violations if v.mandatory], replicated
