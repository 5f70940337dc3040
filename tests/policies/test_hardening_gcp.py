"""Issue 15, GCP and shared Kubernetes: each new guard fails on the plan as it was before the fix
(fixtures recorded from the gcp-prod example plan and the EKS/AKS device plugin of 2026-12-01) and
passes on the plan after it.

What these cannot prove: that GKE admits the platform's images and blocks others under the policy,
that the deny policy's permission names are accepted by IAM v2, that Storage Transfer Service
replicates with the grants given, or that the device plugin still registers with a read-only root —
those need a real project and a real GPU node (README: what only a real cloud proves).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.policies.helpers import R, messages, verdicts

CLUSTER = "gcp:container/cluster:Cluster"
POLICY = "gcp:binaryauthorization/policy:Policy"
KEY = "gcp:kms/cryptoKey:CryptoKey"
BUCKET = "gcp:storage/bucket:Bucket"
JOB = "gcp:storage/transferJob:TransferJob"
MEMBER = "gcp:projects/iAMMember:IAMMember"
DENY = "gcp:iam/denyPolicy:DenyPolicy"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

# --- recorded before the fix (gcp-prod, 2026-12-01) ------------------------------------------------------

BEFORE_CLUSTER: dict[str, Any] = {"name": "vision-prod", "project": "vision-ml-prod", "location": "us-central1",
                                  "datapathProvider": "ADVANCED_DATAPATH", "enableShieldedNodes": True}
BEFORE_KEYS = {"vision-prod-cluster": "31536000s", "vision-prod-monitoring": "31536000s",
               "vision-prod-storage": "7776000s", "vision-prod-registry": "31536000s"}
LABELS = {"managed-by": "mlfabric", "mlfabric-platform": "vision", "mlfabric-environment": "prod"}
BEFORE_BUCKETS = [R(BUCKET, f"vision-prod-{b}", {"location": "us-central1", "storageClass": "STANDARD",
                                                "labels": {**LABELS, "mlfabric-bucket": b}})
                  for b in ("datasets", "artifacts", "models", "access-logs")]
BEFORE_ADMIN = [
    R(MEMBER, "vision-prod-buckets-storage-admin-616b95",
      {"role": "roles/storage.admin", "member": "group:ml-platform@example.com", "project": "vision-ml-prod"}),
    R(MEMBER, "vision-prod-project-container-admin-616b95",
      {"role": "roles/container.admin", "member": "group:ml-platform@example.com", "project": "vision-ml-prod"}),
]
SELECTOR = {"app.kubernetes.io/name": "nvidia-device-plugin"}
# The device plugin DaemonSet as EKS and AKS clusters declared it before the fix.
BEFORE_PLUGIN: dict[str, Any] = {
    "metadata": {"name": "nvidia-device-plugin", "namespace": "kube-system", "labels": SELECTOR},
    "spec": {"selector": {"matchLabels": SELECTOR}, "template": {
        "metadata": {"labels": SELECTOR},
        "spec": {"priorityClassName": "system-node-critical", "containers": [{
            "name": "nvidia-device-plugin", "image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.0",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"}]}],
            "volumes": [{"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}]}}},
}

# --- after the fix ------------------------------------------------------------------------------------------

AFTER_CLUSTER = {**BEFORE_CLUSTER, "binaryAuthorization": {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}}
ENFORCING = {"project": "vision-ml-prod", "globalPolicyEvaluationMode": "ENABLE",
             "admissionWhitelistPatterns": [{"namePattern": "us-central1-docker.pkg.dev/vision-ml-prod/trainer/**"}],
             "defaultAdmissionRule": {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}}
AUDITING = {**ENFORCING, "defaultAdmissionRule": {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "DRYRUN_AUDIT_LOG_ONLY"}}
DENY_ADMIN = R(DENY, "vision-prod-rbac-guardrails", {"rules": [{"denyRule": {
    "deniedPrincipals": ["principalSet://goog/group/ml-platform@example.com"],
    "deniedPermissions": ["storage.googleapis.com/buckets.update", "storage.googleapis.com/buckets.setIamPolicy",
                          "container.googleapis.com/clusters.update"]}}]})
_CONTAINER = BEFORE_PLUGIN["spec"]["template"]["spec"]["containers"][0]
AFTER_PLUGIN: dict[str, Any] = {**BEFORE_PLUGIN, "spec": {**BEFORE_PLUGIN["spec"], "template": {
    "metadata": {"labels": SELECTOR},
    "spec": {**BEFORE_PLUGIN["spec"]["template"]["spec"], "automountServiceAccountToken": False,
             "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
             "containers": [{**_CONTAINER, "securityContext": {
                 **_CONTAINER["securityContext"], "readOnlyRootFilesystem": True,
                 "seccompProfile": {"type": "RuntimeDefault"}}}]}}}}
PLUGIN_POLICY = R(NETPOL, "plugin-netpol", {"metadata": {"name": "nvidia-device-plugin", "namespace": "kube-system"},
                                            "spec": {"podSelector": {"matchLabels": SELECTOR},
                                                     "policyTypes": ["Ingress", "Egress"]}})


def replicas_and_jobs() -> list[R]:
    out: list[R] = []
    for bucket in ("datasets", "artifacts", "models"):
        out.append(R(BUCKET, f"vision-prod-{bucket}-replica", {"location": "us-east1",
                                                               "labels": {**LABELS, "mlfabric-bucket": f"{bucket}-replica"}}))
        out.append(R(JOB, f"vision-prod-{bucket}-replica", {"replicationSpec": {
            "gcsDataSource": {"bucketName": f"vision-prod-{bucket}"},
            "gcsDataSink": {"bucketName": f"vision-prod-{bucket}-replica"}}}, links={"replicationSpec": f"vision-prod-{bucket}"}))
    return out


# --- Binary Authorization (medium) -----------------------------------------------------------------------


def test_the_gke_cluster_of_before_runs_any_image() -> None:
    [message] = messages("mlf-gke-binary-authorization", R(CLUSTER, "vision-prod", BEFORE_CLUSTER))
    assert "vision-prod" in message and "not set" in message


def test_the_gke_cluster_of_after_evaluates_the_declared_project_policy() -> None:
    assert messages("mlf-gke-binary-authorization", [R(CLUSTER, "vision-prod", AFTER_CLUSTER), R(POLICY, "p", ENFORCING)]) == []


def test_evaluating_a_project_policy_the_stack_does_not_declare_fails() -> None:
    [message] = messages("mlf-gke-binary-authorization", R(CLUSTER, "vision-prod", AFTER_CLUSTER))
    assert "declares none" in message


def test_a_policy_in_another_project_does_not_count() -> None:
    other = {**ENFORCING, "project": "someone-else"}
    assert messages("mlf-gke-binary-authorization", [R(CLUSTER, "vision-prod", AFTER_CLUSTER), R(POLICY, "p", other)])


def test_an_audit_only_policy_fails_in_prod_and_passes_with_dev_config() -> None:
    assert messages("mlf-binauthz-policy-blocks", R(POLICY, "p", AUDITING))
    assert messages("mlf-binauthz-policy-blocks", R(POLICY, "p", AUDITING), {"allowAuditOnly": True}) == []
    assert messages("mlf-binauthz-policy-blocks", R(POLICY, "p", ENFORCING)) == []


def test_an_always_allow_rule_fails_even_with_audit_allowed() -> None:
    allow_all = {**ENFORCING, "clusterAdmissionRules": [{"cluster": "us-central1.vision-prod",
                                                         "evaluationMode": "ALWAYS_ALLOW",
                                                         "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}]}
    [message] = messages("mlf-binauthz-policy-blocks", R(POLICY, "p", allow_all), {"allowAuditOnly": True})
    assert message.startswith("clusterAdmissionRules[0].evaluationMode is ALWAYS_ALLOW")


# --- KMS rotation (low): the existing rule with the prod threshold --------------------------------------


def test_the_keys_of_before_rotate_yearly_which_prods_90_day_threshold_reports() -> None:
    keys = [R(KEY, name, {"purpose": "ENCRYPT_DECRYPT", "rotationPeriod": period}) for name, period in BEFORE_KEYS.items()]
    found = verdicts("mlf-kms-key-rotation", keys, {"maxRotationDays": 90})
    assert sorted(str(v.resource_name) for v in found) == ["vision-prod-cluster", "vision-prod-monitoring", "vision-prod-registry"]
    assert all("365 days, more than 90" in v.message for v in found)


def test_prod_policy_config_caps_rotation_at_90_days() -> None:
    import json
    from pathlib import Path

    prod = json.loads((Path(__file__).resolve().parents[2] / "policies" / "config" / "prod.json").read_text())
    assert prod["mlf-kms-key-rotation"]["maxRotationDays"] == 90


# --- replication (low) -------------------------------------------------------------------------------------


def test_the_buckets_of_before_have_no_copy_in_another_region() -> None:
    found = verdicts("mlf-gcs-replication", BEFORE_BUCKETS)
    assert sorted(str(v.resource_name) for v in found) == ["vision-prod-artifacts", "vision-prod-datasets", "vision-prod-models"]


def test_replicas_with_replication_jobs_or_a_dual_region_pass() -> None:
    assert messages("mlf-gcs-replication", [*BEFORE_BUCKETS, *replicas_and_jobs()]) == []
    dual = R(BUCKET, "vision-prod-datasets", {"location": "NAM4", "labels": {**LABELS, "mlfabric-bucket": "datasets"}})
    assert messages("mlf-gcs-replication", dual) == []


# --- the platform-admin guardrails and the escape hatch -----------------------------------------------------


def test_the_platform_admin_of_before_can_switch_off_the_guardrails() -> None:
    found = verdicts("mlf-gcp-admin-guardrails-denied", BEFORE_ADMIN)
    assert len(found) == 2 and all("allow_guardrail_changes" in v.message for v in found)


def test_a_deny_policy_naming_the_admin_passes_and_a_partial_one_fails() -> None:
    assert messages("mlf-gcp-admin-guardrails-denied", [*BEFORE_ADMIN, DENY_ADMIN]) == []
    partial = R(DENY, "d", {"rules": [{"denyRule": {"deniedPrincipals": ["principalSet://goog/group/ml-platform@example.com"],
                                                    "deniedPermissions": ["storage.googleapis.com/buckets.update"]}}]})
    assert len(messages("mlf-gcp-admin-guardrails-denied", [*BEFORE_ADMIN, partial])) == 2


# --- Kubernetes add-ons (low, every cloud) -------------------------------------------------------------------


def test_the_device_plugin_of_before_lacks_seccomp_a_read_only_root_and_drops_no_token() -> None:
    found = messages("mlf-k8s-workload-hardening", R(DAEMON_SET, "plugin", BEFORE_PLUGIN))
    assert any("seccomp" in m for m in found)
    assert any("readOnlyRootFilesystem" in m for m in found)
    assert any("automountServiceAccountToken" in m for m in found)


def test_the_device_plugin_of_after_passes_and_only_require_digest_reports_its_tag() -> None:
    assert messages("mlf-k8s-workload-hardening", R(DAEMON_SET, "plugin", AFTER_PLUGIN)) == []
    [message] = messages("mlf-k8s-workload-hardening", R(DAEMON_SET, "plugin", AFTER_PLUGIN), {"requireDigest": True})
    assert "pinned by tag" in message


def test_an_exempt_workload_is_skipped() -> None:
    assert messages("mlf-k8s-workload-hardening", R(DAEMON_SET, "plugin", BEFORE_PLUGIN),
                    {"exemptNames": ["nvidia-device-plugin"]}) == []


@pytest.mark.parametrize("kind", [DAEMON_SET, DEPLOYMENT])
def test_a_privileged_container_fails(kind: str) -> None:
    spec = AFTER_PLUGIN["spec"]["template"]["spec"]
    privileged = {**AFTER_PLUGIN, "spec": {**AFTER_PLUGIN["spec"], "template": {**AFTER_PLUGIN["spec"]["template"], "spec": {
        **spec, "containers": [{**spec["containers"][0], "securityContext": {
            **spec["containers"][0]["securityContext"], "privileged": True}}]}}}}
    assert messages("mlf-k8s-workload-hardening", R(kind, "w", privileged)) == [
        "container 'nvidia-device-plugin': securityContext.privileged is true"]


def test_the_device_plugin_of_before_has_no_network_policy() -> None:
    [message] = messages("mlf-k8s-network-policy", R(DAEMON_SET, "plugin", BEFORE_PLUGIN))
    assert "no NetworkPolicy selects its pods" in message


def test_a_network_policy_selecting_the_plugin_passes_one_in_another_namespace_does_not() -> None:
    assert messages("mlf-k8s-network-policy", [R(DAEMON_SET, "plugin", AFTER_PLUGIN), PLUGIN_POLICY]) == []
    elsewhere = R(NETPOL, "np", {"metadata": {"namespace": "default"}, "spec": {"podSelector": {}}})
    assert messages("mlf-k8s-network-policy", [R(DAEMON_SET, "plugin", AFTER_PLUGIN), elsewhere])


def test_gke_without_dataplane_v2_or_network_policy_does_not_enforce_policies() -> None:
    legacy = {**AFTER_CLUSTER, "datapathProvider": "LEGACY_DATAPATH"}
    assert messages("mlf-k8s-network-policy", R(CLUSTER, "c", legacy))
    assert messages("mlf-k8s-network-policy", R(CLUSTER, "c", {**legacy, "networkPolicy": {"enabled": True}})) == []
    assert messages("mlf-k8s-network-policy", R(CLUSTER, "c", BEFORE_CLUSTER)) == []  # already Dataplane V2
