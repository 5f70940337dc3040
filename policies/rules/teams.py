"""Teams sharing a training cluster, on every cloud (issue 16).

- ``mlf-team-quota`` (stack): every team namespace (labelled ``mlfabric.dev/team``) has a Kueue
  ClusterQueue selecting it with a nominal GPU quota, a LocalQueue pointing at that ClusterQueue, and
  a ResourceQuota capping the GPUs its pods may request — no team holds an unbounded claim on the
  cluster's GPUs.
- ``mlf-gpu-queue`` (stack): every GPU node pool (a node group, node pool or agent pool labelled
  ``mlfabric.dev/gpu-pool``) is reachable only through a queue: Kueue is installed and manages jobs
  that name no queue, and the pool has a ResourceFlavor.
- ``mlf-shared-fs-private``: a shared file system (FSx for Lustre, Filestore, Parallelstore, Azure
  Managed Lustre) is encrypted with a customer-managed key, and no security group opens the Lustre
  ports to the internet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pulumi_policy import PolicyResource

from .base import (
    ADVISORY,
    HIGH,
    MEDIUM,
    MlfPolicy,
    RuleInfo,
    fmt,
    get,
    is_set,
    is_unknown,
    items,
    mapping,
    number,
    of_types,
    open_cidrs,
    plain,
    resource_policy,
    stack_policy,
    type_pattern,
)

TEAM_LABEL: Final = "mlfabric.dev/team"
GPU_POOL_LABEL: Final = "mlfabric.dev/gpu-pool"
GPU_RESOURCE: Final = "nvidia.com/gpu"
NAMESPACE = "kubernetes:core/v1:Namespace"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
CLUSTER_QUEUE = "re:^kubernetes:kueue\\.x-k8s\\.io/v1beta\\d:ClusterQueue$"
LOCAL_QUEUE = "re:^kubernetes:kueue\\.x-k8s\\.io/v1beta\\d:LocalQueue$"
RESOURCE_FLAVOR = "re:^kubernetes:kueue\\.x-k8s\\.io/v1beta\\d:ResourceFlavor$"
HELM_CHART = "re:^kubernetes:helm\\.sh/v\\d:(Chart|Release)$"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
AKS_AGENT_POOL = "azure-native:containerservice:AgentPool"
# Where each cloud's node pool keeps its Kubernetes labels.
POOL_LABELS: Final = {EKS_NODE_GROUP: "labels", GKE_NODE_POOL: "nodeConfig.labels", AKS_AGENT_POOL: "nodeLabels"}
FSX_LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"
FILESTORE = "gcp:filestore/instance:Instance"
PARALLELSTORE = "gcp:parallelstore/instance:Instance"
MANAGED_LUSTRE = "azure-native:storagecache:AmlFilesystem"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
# Lustre's ports: 988 (the LNet port) and 1018-1023 (FSx for Lustre's client ports).
LUSTRE_PORTS: Final = (988, 1018, 1023)


def _name(resource: PolicyResource) -> str:
    return str(plain(get(resource.props, "metadata.name")) or resource.name)


def _selected_namespace(queue: PolicyResource) -> str:
    labels = mapping(get(queue.props, "spec.namespaceSelector.matchLabels"))
    return str(plain(labels.get("kubernetes.io/metadata.name")) or "")


def _gpu_quota(queue: PolicyResource) -> float:
    total = 0.0
    for group in items(get(queue.props, "spec.resourceGroups")):
        for flavor in items(get(group, "flavors")):
            for resource in items(get(flavor, "resources")):
                if str(plain(get(resource, "name"))) == GPU_RESOURCE:
                    total += number(get(resource, "nominalQuota")) or 0.0
    return total


TEAM_QUOTA = RuleInfo(
    id="mlf-team-quota",
    title="Every team namespace has a GPU quota",
    description="Every namespace labelled mlfabric.dev/team has a Kueue ClusterQueue whose namespaceSelector "
    "selects it with a nominal nvidia.com/gpu quota above zero, a LocalQueue in the namespace pointing at "
    "that ClusterQueue, and a ResourceQuota capping requests.nvidia.com/gpu.",
    remediation="Declare the team under `teams:` with a gpu_quota (mlfabric creates the queues and the "
    "ResourceQuota).",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(NAMESPACE, RESOURCE_QUOTA, CLUSTER_QUEUE, LOCAL_QUEUE),
    section="teams",
    kind="stack",
)


@stack_policy(TEAM_QUOTA)
def team_quota(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    queues = {_name(q): q for q in of_types(resources, CLUSTER_QUEUE)}
    local_queues = of_types(resources, LOCAL_QUEUE)
    quotas = of_types(resources, RESOURCE_QUOTA)
    for namespace in of_types(resources, NAMESPACE):
        if TEAM_LABEL not in mapping(get(namespace.props, "metadata.labels")):
            continue
        name = _name(namespace)
        selecting = [q for q in queues.values() if _selected_namespace(q) == name]
        if not selecting or all(_gpu_quota(q) <= 0 for q in selecting):
            yield (f"team namespace {name}: no ClusterQueue selects it with a GPU quota above zero", namespace.urn)
        in_namespace = [lq for lq in local_queues if str(plain(get(lq.props, "metadata.namespace"))) == name]
        if not any(str(plain(get(lq.props, "spec.clusterQueue"))) in {_name(q) for q in selecting}
                   for lq in in_namespace):
            yield (f"team namespace {name}: no LocalQueue points at its ClusterQueue: its jobs cannot be admitted",
                   namespace.urn)
        if not any(str(plain(get(rq.props, "metadata.namespace"))) == name
                   and f"requests.{GPU_RESOURCE}" in mapping(get(rq.props, "spec.hard")) for rq in quotas):
            yield (f"team namespace {name}: no ResourceQuota caps requests.{GPU_RESOURCE}", namespace.urn)


GPU_QUEUE = RuleInfo(
    id="mlf-gpu-queue",
    title="GPU pools are reachable only through a queue",
    description="Every node pool labelled mlfabric.dev/gpu-pool (EKS node group labels, GKE nodeConfig.labels, "
    "AKS nodeLabels) has a Kueue ResourceFlavor selecting it, and Kueue is installed with "
    "manageJobsWithoutQueueName: true, so a job that names no queue is held rather than run around the quotas.",
    remediation="Use mlfabric's training cluster: it installs Kueue (components/kubernetes/queueing.py) and a "
    "flavor per GPU pool.",
    severity=HIGH,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(EKS_NODE_GROUP, GKE_NODE_POOL, AKS_AGENT_POOL, RESOURCE_FLAVOR, HELM_CHART),
    section="training",
    kind="stack",
)


def _manages_unqueued_jobs(chart: PolicyResource) -> bool:
    text = get(chart.props, "values.managerConfig.controllerManagerConfigYaml")
    if is_unknown(text):
        return True
    return "manageJobsWithoutQueueName: true" in str(plain(text) or "")


@stack_policy(GPU_QUEUE)
def gpu_queue(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    flavored = {str(plain(mapping(get(f.props, "spec.nodeLabels")).get(GPU_POOL_LABEL)))
                for f in of_types(resources, RESOURCE_FLAVOR)}
    kueue = [c for c in of_types(resources, HELM_CHART) if "kueue" in str(plain(get(c.props, "chart")) or "")]
    pools = [(r, mapping(get(r.props, path))) for token, path in POOL_LABELS.items() for r in of_types(resources, token)]
    gpu_pools = [(r, str(plain(labels[GPU_POOL_LABEL]))) for r, labels in pools if GPU_POOL_LABEL in labels]
    if gpu_pools and not any(_manages_unqueued_jobs(c) for c in kueue):
        yield ("GPU pools exist but Kueue is not installed with manageJobsWithoutQueueName: true: any pod "
               "that tolerates the GPU taint runs outside the teams' quotas", None)
    for resource, pool in gpu_pools:
        if pool not in flavored:
            yield (f"GPU pool {pool} ({resource.name}): no Kueue ResourceFlavor selects its nodes", resource.urn)


SHARED_FS = RuleInfo(
    id="mlf-shared-fs-private",
    title="Shared file systems are encrypted and private",
    description="FSx for Lustre sets kmsKeyId; Filestore sets kmsKeyName; Azure Managed Lustre sets "
    "encryptionSettings.keyEncryptionKey; Parallelstore (which takes no customer-managed key) is reported. "
    "No security group rule opens the Lustre ports (988, 1018-1023) to 0.0.0.0/0 or ::/0.",
    remediation="Use training.shared_fs: mlfabric encrypts it with the platform key and opens it only to the "
    "cluster's subnets.",
    severity=HIGH,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(FSX_LUSTRE, FILESTORE, PARALLELSTORE, MANAGED_LUSTRE, SECURITY_GROUP, INGRESS_RULE, SG_RULE),
    section="training",
)

_KEY_PATHS: Final = {
    FSX_LUSTRE: "kmsKeyId",
    FILESTORE: "kmsKeyName",
    MANAGED_LUSTRE: "encryptionSettings.keyEncryptionKey",
}


def _opens_lustre(rule: Any, cidrs: Iterable[Any]) -> bool:
    low, high = number(get(rule, "fromPort")), number(get(rule, "toPort"))
    protocol = str(plain(get(rule, "ipProtocol") or get(rule, "protocol")) or "")
    if not open_cidrs(cidrs):
        return False
    if protocol == "-1":
        return True
    if low is None or high is None:
        return False
    return any(low <= port <= high for port in LUSTRE_PORTS)


@resource_policy(SHARED_FS)
def shared_fs_private(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    if resource_type == PARALLELSTORE:
        yield "Parallelstore takes no customer-managed key: data is encrypted with a Google-managed key only"
        return
    key_path = next((path for token, path in _KEY_PATHS.items() if type_pattern(token).match(resource_type)), None)
    if key_path is not None:
        if not is_set(props, key_path):
            yield f"{key_path} is not set: the file system is encrypted with a provider-managed key"
        return
    yield from _open_lustre_ports(resource_type, props)


def _open_lustre_ports(resource_type: str, props: Mapping[str, Any]) -> Iterable[str]:
    if resource_type == SECURITY_GROUP:
        for rule in items(get(props, "ingress")):
            cidrs = [*items(get(rule, "cidrBlocks")), *items(get(rule, "ipv6CidrBlocks"))]
            if _opens_lustre(rule, cidrs):
                yield f"ingress opens the Lustre ports to {fmt(open_cidrs(cidrs))}"
    elif resource_type == INGRESS_RULE:
        if _opens_lustre(props, [get(props, "cidrIpv4"), get(props, "cidrIpv6")]):
            yield "the rule opens the Lustre ports to the internet"
    elif resource_type == SG_RULE and str(plain(get(props, "type"))) == "ingress" and _opens_lustre(
            props, [*items(get(props, "cidrBlocks")), *items(get(props, "ipv6CidrBlocks"))]):
        yield "the rule opens the Lustre ports to the internet"


POLICIES: list[MlfPolicy] = [team_quota, gpu_queue, shared_fs_private]
