"""Mutation test of the GCP prod example (issue 15, item 4): the gcp-prod plan is recorded once; each
mutation flips one secure property (or drops one guarding resource) in a copy of the recorded
resources, and the whole pack, under the prod policy config, must report a violation of the named
rule that points at the mutated (or guarded) resource.

The Kubernetes add-on mutations run on the EKS prod example (GKE declares no in-cluster add-ons: its
device plugin is part of the node image).

What this cannot prove: that the engine hands the pack the same inputs the mock runtime records.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mlfabric.check import Source, load_pack_config, run_pack
from mlfabric.plan import ResourceRecord

ROOT = Path(__file__).resolve().parents[2]
Records = list[ResourceRecord]


@cache
def _plan(stack: str) -> tuple[ResourceRecord, ...]:
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    return tuple(plan_stack(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml")).resources)


def _report(stack: str, resources: Records) -> list[tuple[str, str | None]]:
    source = Source(stack, "mlfabric", "prod", None, "", resources)
    report = run_pack(source, load_pack_config(ROOT / "policies" / "config" / "prod.json"))
    return [(v.rule_id, v.urn) for v in report.violations]


def _of(resources: Records, typ: str, suffix: str = "") -> list[ResourceRecord]:
    found = [r for r in resources if r.type == typ and r.name.endswith(suffix)]
    assert found, f"no {typ} named *{suffix} in the plan"
    return found


def _set(inputs: dict[str, Any], path: str, value: Any) -> None:
    *head, last = path.split(".")
    for key in head:
        inputs = inputs.setdefault(key, {})
    if value is _DELETE:
        inputs.pop(last, None)
    else:
        inputs[last] = value


_DELETE = object()
CLUSTER = "gcp:container/cluster:Cluster"
BINAUTHZ = "gcp:binaryauthorization/policy:Policy"
KEY = "gcp:kms/cryptoKey:CryptoKey"
BUCKET = "gcp:storage/bucket:Bucket"
JOB = "gcp:storage/transferJob:TransferJob"
DENY = "gcp:iam/denyPolicy:DenyPolicy"
MEMBER = "gcp:projects/iAMMember:IAMMember"
POOL = "gcp:container/nodePool:NodePool"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


@dataclass(frozen=True)
class Mutation:
    """Flip ``path`` of the resource of ``typ`` named ``*suffix`` (or drop the resources ``drop``
    selects); ``rule`` must then name ``target`` (default: the mutated resource)."""

    id: str
    rule: str
    typ: str
    suffix: str = ""
    path: str = ""
    value: Any = None
    drop: Callable[[ResourceRecord], bool] | None = None
    target: tuple[str, str] | None = None  # (type, name suffix) the violation must name
    stack: str = "gcp-prod"
    also: tuple[tuple[str, Any], ...] = ()  # more (path, value) flips of the same resource


def _job_of(bucket: str) -> Callable[[ResourceRecord], bool]:
    return lambda r: r.type == JOB and r.name.endswith(f"-{bucket}-replica")


MUTATIONS = [
    # --- issue 15 (GCP) ---
    Mutation("binauthz-disabled", "mlf-gke-binary-authorization", CLUSTER, "vision-prod",
             "binaryAuthorization.evaluationMode", "DISABLED"),
    Mutation("binauthz-unset", "mlf-gke-binary-authorization", CLUSTER, "vision-prod", "binaryAuthorization", _DELETE),
    Mutation("binauthz-policy-dropped", "mlf-gke-binary-authorization", BINAUTHZ, drop=lambda r: r.type == BINAUTHZ,
             target=(CLUSTER, "vision-prod")),
    Mutation("binauthz-dry-run", "mlf-binauthz-policy-blocks", BINAUTHZ, "",
             "defaultAdmissionRule.enforcementMode", "DRYRUN_AUDIT_LOG_ONLY"),
    Mutation("binauthz-allow-all", "mlf-binauthz-policy-blocks", BINAUTHZ, "",
             "defaultAdmissionRule.evaluationMode", "ALWAYS_ALLOW"),
    *[Mutation(f"key-yearly-{k}", "mlf-kms-key-rotation", KEY, f"-{k}", "rotationPeriod", "31536000s")
      for k in ("cluster", "monitoring", "storage", "registry", "storage-replica")],
    *[Mutation(f"replication-dropped-{b}", "mlf-gcs-replication", JOB, drop=_job_of(b), target=(BUCKET, f"-{b}"))
      for b in ("datasets", "artifacts", "models")],
    Mutation("deny-policy-dropped", "mlf-gcp-admin-guardrails-denied", DENY, drop=lambda r: r.type == DENY,
             target=(MEMBER, "-buckets-storage-admin-616b95")),
    Mutation("deny-policy-misses-a-permission", "mlf-gcp-admin-guardrails-denied", DENY, "-guardrails",
             "rules", [{"denyRule": {"deniedPrincipals": ["principalSet://goog/group/ml-platform@example.com"],
                                     "deniedPermissions": ["storage.googleapis.com/buckets.update"]}}],
             target=(MEMBER, "-project-container-admin-616b95")),
    Mutation("gke-legacy-datapath", "mlf-k8s-network-policy", CLUSTER, "vision-prod", "datapathProvider", "LEGACY_DATAPATH"),
    # --- existing GCP rules ---
    Mutation("bucket-public-access", "mlf-gcs-public-access-prevention", BUCKET, "-datasets",
             "publicAccessPrevention", "inherited"),
    Mutation("replica-public-access", "mlf-gcs-public-access-prevention", BUCKET, "-datasets-replica",
             "publicAccessPrevention", "inherited"),
    Mutation("bucket-acls", "mlf-gcs-uniform-access", BUCKET, "-models", "uniformBucketLevelAccess", False),
    Mutation("bucket-google-key", "mlf-gcs-cmek-encryption", BUCKET, "-artifacts", "encryption", _DELETE),
    Mutation("replica-google-key", "mlf-gcs-cmek-encryption", BUCKET, "-models-replica", "encryption", _DELETE),
    Mutation("bucket-unversioned", "mlf-gcs-versioning", BUCKET, "-datasets", "versioning.enabled", False),
    Mutation("bucket-force-destroy", "mlf-bucket-no-force-destroy", BUCKET, "-datasets", "forceDestroy", True),
    Mutation("cluster-public-endpoint", "mlf-cluster-private-endpoint", CLUSTER, "vision-prod",
             "privateClusterConfig.enablePrivateEndpoint", False),
    Mutation("cluster-plain-secrets", "mlf-cluster-secrets-encryption", CLUSTER, "vision-prod",
             "databaseEncryption", _DELETE),
    Mutation("pool-no-auto-repair", "mlf-gke-node-auto-repair-upgrade", POOL, "-system", "management.autoRepair", False),
    Mutation("repository-google-key", "mlf-registry-cmk-encryption", REPOSITORY, "-trainer", "kmsKeyName", _DELETE),
    # --- shared Kubernetes add-ons (EKS prod example) ---
    Mutation("plugin-writable-root", "mlf-k8s-workload-hardening", DAEMON_SET, "nvidia-device-plugin",
             "spec.template.spec.containers", [{"name": "nvidia-device-plugin", "securityContext": {
                 "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}], stack="prod"),
    Mutation("plugin-token-mounted", "mlf-k8s-workload-hardening", DAEMON_SET, "nvidia-device-plugin",
             "spec.template.spec.automountServiceAccountToken", _DELETE, stack="prod"),
    Mutation("plugin-no-seccomp", "mlf-k8s-workload-hardening", DAEMON_SET, "nvidia-device-plugin",
             "spec.template.spec.securityContext", _DELETE, stack="prod",
             also=(("spec.template.spec.containers", [{"name": "nvidia-device-plugin", "securityContext": {
                 "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                 "readOnlyRootFilesystem": True}}]),)),
    Mutation("plugin-network-policy-dropped", "mlf-k8s-network-policy", NETPOL,
             drop=lambda r: r.type == NETPOL and r.inputs.get("metadata", {}).get("name") == "nvidia-device-plugin",
             target=(DAEMON_SET, "nvidia-device-plugin"), stack="prod"),
]


def test_the_unmutated_prod_plan_breaks_none_of_the_mutated_rules() -> None:
    rules = {m.rule for m in MUTATIONS if m.stack == "gcp-prod"}
    assert [v for v in _report("gcp-prod", list(_plan("gcp-prod"))) if v[0] in rules] == []


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_every_mutation_is_caught_and_names_the_resource(mutation: Mutation) -> None:
    resources = [copy.deepcopy(r) for r in _plan(mutation.stack)]
    if mutation.drop is not None:
        before = len(resources)
        resources = [r for r in resources if not mutation.drop(r)]
        assert len(resources) < before, f"{mutation.id}: nothing to drop"
    else:
        (record,) = _of(resources, mutation.typ, mutation.suffix)
        for path, value in ((mutation.path, mutation.value), *mutation.also):
            _set(record.inputs, path, value)
    typ, suffix = mutation.target or (mutation.typ, mutation.suffix)
    expected = {r.urn for r in _of(resources, typ, suffix)}
    found = [urn for rule, urn in _report(mutation.stack, resources) if rule == mutation.rule]
    assert set(found) & expected, f"{mutation.id}: {mutation.rule} reported {found}, not {sorted(expected)}"
