"""Kubernetes workloads the platform declares itself (add-ons such as the NVIDIA device plugin and the
cluster autoscaler), on every cloud (issue 15).

- ``mlf-k8s-workload-hardening``: every Deployment and DaemonSet runs with the RuntimeDefault (or a
  Localhost) seccomp profile, a read-only root filesystem, no privilege escalation, every capability
  dropped, no privileged container, and no service-account token unless it names a service account
  (an add-on that calls the API server has its own). Images pinned by tag are reported only with
  ``requireDigest`` (no public source states the device plugin's digest). ``exemptNames`` lists
  workloads (metadata.name) that truly need more.
- ``mlf-k8s-network-policy`` (stack): every namespace holding a platform Deployment/DaemonSet has a
  NetworkPolicy whose podSelector selects its pods (or all pods of the namespace), and every GKE
  cluster enforces network policy (Dataplane V2, or the Calico networkPolicy add-on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from .base import (
    ADVISORY,
    LOW,
    MlfPolicy,
    RuleInfo,
    falsy,
    fmt,
    get,
    is_unknown,
    items,
    mapping,
    of_types,
    plain,
    resource_policy,
    stack_policy,
    truthy,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
WORKLOADS = (DEPLOYMENT, DAEMON_SET)
_SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})


WORKLOAD_HARDENING = RuleInfo(
    id="mlf-k8s-workload-hardening",
    title="Platform add-ons run locked down",
    description="Every Deployment and DaemonSet the platform declares sets seccompProfile RuntimeDefault "
    "(pod or container), readOnlyRootFilesystem true, allowPrivilegeEscalation false and capabilities.drop "
    "ALL on each container, runs no privileged container, and mounts no service-account token unless it "
    "names its own serviceAccountName. With requireDigest, images must be pinned by @sha256 digest. "
    "Workloads named in exemptNames are skipped.",
    remediation="Use mlfabric's add-on manifests (components/kubernetes); exempt a workload that truly "
    "needs more in the policy config's exemptNames.",
    severity=LOW,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=WORKLOADS,
    section="training",
    config={
        "exemptNames": {"type": "array", "items": {"type": "string"}, "default": [],
                        "description": "metadata.name of workloads not checked."},
        "requireDigest": {"type": "boolean", "default": False,
                          "description": "Report images pinned by tag rather than @sha256 digest."},
    },
)


def _seccomp(context: Any) -> str:
    return str(plain(get(context, "seccompProfile.type")) or "")


@resource_policy(WORKLOAD_HARDENING)
def k8s_workload_hardening(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type
    if str(plain(get(props, "metadata.name")) or "") in {str(n) for n in items(config.get("exemptNames"))}:
        return
    pod = mapping(get(props, "spec.template.spec"))
    if not pod:
        yield "spec.template.spec is not set"
        return
    pod_seccomp = _seccomp(get(pod, "securityContext"))
    if not get(pod, "serviceAccountName") and not falsy(get(pod, "automountServiceAccountToken")):
        yield "automountServiceAccountToken is not false and no serviceAccountName is set: the pod mounts a token it does not use"
    for container in [*items(get(pod, "initContainers")), *items(get(pod, "containers"))]:
        yield from _container_findings(container, pod_seccomp, truthy(config.get("requireDigest")))


def _container_findings(container: Any, pod_seccomp: str, require_digest: bool) -> Iterable[str]:
    name = fmt(get(container, "name"))
    context = get(container, "securityContext")
    if (_seccomp(context) or pod_seccomp) not in _SECCOMP_OK:
        yield f"container {name}: no RuntimeDefault seccomp profile (pod or container securityContext.seccompProfile)"
    if not truthy(get(context, "readOnlyRootFilesystem")) and not is_unknown(get(context, "readOnlyRootFilesystem")):
        yield f"container {name}: securityContext.readOnlyRootFilesystem is not true"
    if not falsy(get(context, "allowPrivilegeEscalation")):
        yield f"container {name}: securityContext.allowPrivilegeEscalation is not false"
    if truthy(get(context, "privileged")):
        yield f"container {name}: securityContext.privileged is true"
    if "ALL" not in {str(c) for c in items(get(context, "capabilities.drop"))}:
        yield f"container {name}: securityContext.capabilities.drop does not contain ALL"
    image = str(plain(get(container, "image")) or "")
    if require_digest and image and "@sha256:" not in image and not is_unknown(image):
        yield f"container {name}: image {image} is pinned by tag, not by digest"

NETWORK_POLICY_RULE = RuleInfo(
    id="mlf-k8s-network-policy",
    title="Platform pods sit behind a NetworkPolicy",
    description="Every Deployment and DaemonSet the platform declares has a NetworkPolicy in its namespace "
    "whose podSelector selects its pod labels (an empty podSelector selects every pod), and every GKE "
    "cluster enforces NetworkPolicy (datapathProvider ADVANCED_DATAPATH or networkPolicy.enabled).",
    remediation="Use mlfabric's add-on manifests (each comes with its NetworkPolicy) and its GKE cluster "
    "(Dataplane V2).",
    severity=LOW,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(*WORKLOADS, NETWORK_POLICY, GKE_CLUSTER),
    section="training",
    kind="stack",
)


def _selects(policy: PolicyResource, namespace: str, labels: Mapping[str, Any]) -> bool:
    if str(plain(get(policy.props, "metadata.namespace")) or "default") != namespace:
        return False
    selector = mapping(get(policy.props, "spec.podSelector"))
    wanted = mapping(get(selector, "matchLabels"))
    if get(selector, "matchExpressions"):
        return True  # expressions are not evaluated here: give the benefit of the doubt
    return all(str(plain(labels.get(k))) == str(plain(v)) for k, v in wanted.items())


@stack_policy(NETWORK_POLICY_RULE)
def k8s_network_policy(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    policies = of_types(resources, NETWORK_POLICY)
    for workload in of_types(resources, *WORKLOADS):
        namespace = str(plain(get(workload.props, "metadata.namespace")) or "default")
        labels = mapping(get(workload.props, "spec.template.metadata.labels"))
        if not any(_selects(policy, namespace, labels) for policy in policies):
            yield (f"{fmt(get(workload.props, 'metadata.name'))} ({workload.name}) in namespace {namespace}: "
                   "no NetworkPolicy selects its pods", workload.urn)
    for cluster in of_types(resources, GKE_CLUSTER):
        datapath = get(cluster.props, "datapathProvider")
        if is_unknown(datapath) or str(plain(datapath) or "") == "ADVANCED_DATAPATH":
            continue
        if truthy(get(cluster.props, "networkPolicy.enabled")):
            continue
        yield (f"GKE cluster {cluster.name}: datapathProvider is {fmt(datapath) if datapath else 'not set'} and "
               "networkPolicy is not enabled: NetworkPolicy objects are not enforced", cluster.urn)


POLICIES: list[MlfPolicy] = [k8s_workload_hardening, k8s_network_policy]
