"""Cluster rules: private API endpoints, secrets encryption, audit logs, workload identity, and
GPU pools (tainted, bounded, of allowed machine types) on EKS, GKE and AKS.

GPU pools are recognised by their machine (EC2 g*/p* families, GCE a2/a3/g2 or guest
accelerators, Azure N-series) or by a GPU AMI type; ``gpu.py`` holds those facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import PolicyResource

from . import gpu
from .base import (
    ADVISORY,
    HIGH,
    MANDATORY,
    MEDIUM,
    ByType,
    MlfPolicy,
    RuleInfo,
    falsy,
    flag_rule,
    fmt,
    get,
    is_set,
    items,
    mapping,
    mentions,
    must_be_true,
    must_not_be_false,
    number,
    of_types,
    open_cidrs,
    resource_policy,
    stack_policy,
    truthy,
)

EKS = "aws:eks/cluster:Cluster"
EKS_ADDON = "aws:eks/addon:Addon"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
GKE = gpu.GKE_CLUSTER
AKS = gpu.AKS_CLUSTER
AKS_POOL = gpu.AKS_AGENT_POOL
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
NODE_POOL_TYPES = (gpu.EKS_NODE_GROUP, gpu.GKE_NODE_POOL, AKS_POOL, AKS)
CLUSTER_TYPES = (EKS, GKE, AKS)


PRIVATE_ENDPOINT = RuleInfo(
    id="mlf-cluster-private-endpoint",
    title="Cluster API private or allow-listed",
    description="The Kubernetes API server is private (EKS endpointPublicAccess false, GKE private "
    "endpoint, AKS private cluster) or reachable only from allow-listed CIDRs, none of them 0.0.0.0/0.",
    remediation="Leave training.cluster.endpoint_public_cidrs empty (private only) or list your office/VPN "
    "egress CIDRs there.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=CLUSTER_TYPES,
    section="training",
)


def _eks_private_endpoint(props: Mapping[str, Any]) -> Iterable[str]:
    vpc = mapping(props.get("vpcConfig"))
    if falsy(vpc.get("endpointPublicAccess")):
        return
    cidrs = items(vpc.get("publicAccessCidrs"))
    if vpc.get("endpointPublicAccess") is None and not cidrs:
        yield "vpcConfig.endpointPublicAccess is not set: EKS makes the endpoint public to 0.0.0.0/0"
    elif not cidrs:
        yield "the public endpoint is on with no publicAccessCidrs: EKS opens it to 0.0.0.0/0"
    elif open_cidrs(cidrs):
        yield f"publicAccessCidrs opens the API to the internet ({', '.join(open_cidrs(cidrs))})"


def _gke_private_endpoint(props: Mapping[str, Any]) -> Iterable[str]:
    if truthy(get(props, "privateClusterConfig.enablePrivateEndpoint")) or falsy(
        get(props, "controlPlaneEndpointsConfig.ipEndpointsConfig.enablePublicEndpoint")
    ):
        return
    networks = mapping(props.get("masterAuthorizedNetworksConfig"))
    cidrs = [b.get("cidrBlock") for b in items(networks.get("cidrBlocks")) if isinstance(b, Mapping)]
    if not networks or not cidrs:
        yield "the control plane has a public endpoint and no masterAuthorizedNetworksConfig.cidrBlocks"
    elif open_cidrs(cidrs):
        yield f"masterAuthorizedNetworksConfig allows the internet ({', '.join(open_cidrs(cidrs))})"
    if truthy(networks.get("gcpPublicCidrsAccessEnabled")):
        yield "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled lets every GCP public IP reach the API"


def _aks_private_endpoint(props: Mapping[str, Any]) -> Iterable[str]:
    access = mapping(props.get("apiServerAccessProfile"))
    if truthy(access.get("enablePrivateCluster")):
        return
    cidrs = items(access.get("authorizedIPRanges"))
    if not cidrs:
        yield "apiServerAccessProfile has neither enablePrivateCluster nor authorizedIPRanges: the API is public"
    elif open_cidrs(cidrs):
        yield f"authorizedIPRanges opens the API to the internet ({', '.join(open_cidrs(cidrs))})"


_PRIVATE_ENDPOINT = ByType({EKS: _eks_private_endpoint, GKE: _gke_private_endpoint, AKS: _aks_private_endpoint})


@resource_policy(PRIVATE_ENDPOINT)
def cluster_private_endpoint(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    yield from _PRIVATE_ENDPOINT.check(resource_type, props)


SECRETS = RuleInfo(
    id="mlf-cluster-secrets-encryption",
    title="Kubernetes secrets encrypted with a customer key",
    description="Kubernetes secrets are envelope-encrypted with a customer-managed key: EKS "
    "encryptionConfig for 'secrets' with a KMS key ARN, GKE databaseEncryption ENCRYPTED with a Cloud "
    "KMS key, AKS securityProfile.azureKeyVaultKms enabled with a key id.",
    remediation="Give the cluster the platform's KMS/Cloud KMS/Key Vault key for secrets encryption.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=CLUSTER_TYPES,
    section="training",
)


def _eks_secrets_encryption(props: Mapping[str, Any]) -> Iterable[str]:
    encryption = mapping(props.get("encryptionConfig"))
    if "secrets" not in [str(r) for r in items(encryption.get("resources"))]:
        yield "encryptionConfig does not cover 'secrets'"
    elif not is_set(encryption, "provider.keyArn"):
        yield "encryptionConfig.provider.keyArn is not set"


def _gke_secrets_encryption(props: Mapping[str, Any]) -> Iterable[str]:
    state = get(props, "databaseEncryption.state")
    if state != "ENCRYPTED":
        yield f"databaseEncryption.state is {fmt(state) if state else 'not set'}, not ENCRYPTED"
    elif not is_set(props, "databaseEncryption.keyName"):
        yield "databaseEncryption.keyName is not set"


def _aks_secrets_encryption(props: Mapping[str, Any]) -> Iterable[str]:
    kms = mapping(get(props, "securityProfile.azureKeyVaultKms"))
    if not truthy(kms.get("enabled")):
        yield "securityProfile.azureKeyVaultKms.enabled is not true (etcd uses platform-managed keys)"
    elif not is_set(kms, "keyId"):
        yield "securityProfile.azureKeyVaultKms.keyId is not set"


_SECRETS_ENCRYPTION = ByType({EKS: _eks_secrets_encryption, GKE: _gke_secrets_encryption, AKS: _aks_secrets_encryption})


@resource_policy(SECRETS)
def cluster_secrets_encryption(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    yield from _SECRETS_ENCRYPTION.check(resource_type, props)


AUDIT = RuleInfo(
    id="mlf-cluster-audit-logging",
    title="Control-plane audit logs shipped",
    description="EKS enables the configured control-plane log types (audit by default); GKE keeps "
    "Cloud Logging on (its audit logs are Cloud Audit Logs); every AKS cluster has a diagnostic "
    "setting that enables kube-audit or kube-audit-admin (or the audit/allLogs category group).",
    remediation="Keep training.cluster.audit_logging on (the default).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(*CLUSTER_TYPES, DIAGNOSTIC_SETTING),
    section="training",
    config={"eksLogTypes": {"type": "array", "items": {"type": "string"}, "default": ["audit"],
                            "description": "EKS control-plane log types that must be enabled."}},
    kind="stack",
)

_AUDIT_CATEGORIES = {"kube-audit", "kube-audit-admin"}
_AUDIT_GROUPS = {"audit", "alllogs"}


def _ships_audit(setting: PolicyResource) -> bool:
    for log in items(setting.props.get("logs")):
        if not isinstance(log, Mapping) or not truthy(log.get("enabled")):
            continue
        if str(log.get("category") or "") in _AUDIT_CATEGORIES or str(log.get("categoryGroup") or "").lower() in _AUDIT_GROUPS:
            return True
    return False


@stack_policy(AUDIT)
def cluster_audit_logging(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    wanted = [str(t) for t in items(config.get("eksLogTypes"))]
    for cluster in of_types(resources, EKS):
        enabled = {str(t) for t in items(cluster.props.get("enabledClusterLogTypes"))}
        missing = [t for t in wanted if t not in enabled]
        if missing:
            yield (f"EKS cluster {cluster.name} does not enable control-plane logs: {', '.join(missing)}", cluster.urn)
    for cluster in of_types(resources, GKE):
        if str(cluster.props.get("loggingService") or "") == "none":
            yield (f"GKE cluster {cluster.name} sets loggingService 'none'", cluster.urn)
        components = get(cluster.props, "loggingConfig.enableComponents")
        if components is not None and not items(components):
            yield (f"GKE cluster {cluster.name} enables no logging components", cluster.urn)
    settings = of_types(resources, DIAGNOSTIC_SETTING)
    for cluster in of_types(resources, AKS):
        if not any(_ships_audit(s) and mentions(s, cluster, ["resourceUri"]) for s in settings):
            yield (f"AKS cluster {cluster.name} has no diagnostic setting enabling kube-audit logs", cluster.urn)


WORKLOAD_IDENTITY = RuleInfo(
    id="mlf-cluster-workload-identity",
    title="Workload identity for pods",
    description="Pods get cloud credentials through workload identity, not node credentials: every EKS "
    "cluster has an IAM OIDC provider (IRSA) or the eks-pod-identity-agent add-on; GKE sets "
    "workloadIdentityConfig.workloadPool and no node pool falls back to GCE_METADATA; AKS enables "
    "securityProfile.workloadIdentity and the OIDC issuer.",
    remediation="Use mlfabric's cluster components, which enable workload identity on every cloud.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(*CLUSTER_TYPES, OIDC_PROVIDER, EKS_ADDON, gpu.GKE_NODE_POOL),
    section="training",
    kind="stack",
)


@stack_policy(WORKLOAD_IDENTITY)
def cluster_workload_identity(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    providers = of_types(resources, OIDC_PROVIDER)
    agents = [a for a in of_types(resources, EKS_ADDON) if a.props.get("addonName") == "eks-pod-identity-agent"]
    for cluster in of_types(resources, EKS):
        if not any(mentions(p, cluster, ["url"]) for p in providers) and not any(
            mentions(a, cluster, ["clusterName"]) for a in agents
        ):
            yield (f"EKS cluster {cluster.name} has neither an IAM OIDC provider (IRSA) nor the "
                   "eks-pod-identity-agent add-on", cluster.urn)
    for cluster in of_types(resources, GKE):
        if not is_set(cluster.props, "workloadIdentityConfig.workloadPool"):
            yield (f"GKE cluster {cluster.name} has no workloadIdentityConfig.workloadPool", cluster.urn)
    for pool in of_types(resources, gpu.GKE_NODE_POOL):
        if get(pool.props, "nodeConfig.workloadMetadataConfig.mode") == "GCE_METADATA":
            yield (f"GKE node pool {pool.name} exposes the node's metadata server (GCE_METADATA)", pool.urn)
    for cluster in of_types(resources, AKS):
        if not truthy(get(cluster.props, "securityProfile.workloadIdentity.enabled")):
            yield (f"AKS cluster {cluster.name} has securityProfile.workloadIdentity off", cluster.urn)
        if not truthy(get(cluster.props, "oidcIssuerProfile.enabled")):
            yield (f"AKS cluster {cluster.name} has oidcIssuerProfile off", cluster.urn)


GPU_TAINTED = RuleInfo(
    id="mlf-gpu-pool-tainted",
    title="GPU pools tainted",
    description="Every GPU node pool carries a NoSchedule (or NoExecute) taint with the configured key "
    "(nvidia.com/gpu), so only pods that ask for GPUs land on expensive nodes.",
    remediation="Use mlfabric's GPU pools (they taint nodes), or add the taint to the node group/pool.",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=NODE_POOL_TYPES,
    section="training",
    config={"taintKeys": {"type": "array", "items": {"type": "string"}, "default": ["nvidia.com/gpu"],
                          "description": "Taint keys that mark a GPU node (any one suffices)."}},
)

_BLOCKING_EFFECTS = {"noschedule", "no_schedule", "noexecute", "no_execute"}


def _pool_taints(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, effect) of a pool's taints on every cloud (AKS taints are 'key=value:Effect' strings)."""
    if resource_type == gpu.EKS_NODE_GROUP:
        raw = items(props.get("taints"))
    elif resource_type == gpu.GKE_NODE_POOL:
        raw = items(get(props, "nodeConfig.taints"))
    else:
        parsed = []
        for taint in items(props.get("nodeTaints")):
            text = str(taint)
            key_value, _, effect = text.partition(":")
            parsed.append({"key": key_value.split("=")[0], "effect": effect})
        raw = parsed
    return [(str(t.get("key")), str(t.get("effect"))) for t in raw if isinstance(t, Mapping)]


def _pool_label(props: Mapping[str, Any]) -> str:
    for key in ("nodeGroupName", "name"):
        if props.get(key):
            return f" {props[key]}"
    return ""


@resource_policy(GPU_TAINTED)
def gpu_pool_tainted(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    keys = {str(k) for k in items(config.get("taintKeys"))}
    for pool_type, pool in gpu.node_pools(resource_type, props):
        if not gpu.is_gpu_pool(pool_type, pool):
            continue
        taints = _pool_taints(pool_type, pool)
        if not any(k in keys and e.lower() in _BLOCKING_EFFECTS for k, e in taints):
            yield f"GPU pool{_pool_label(pool)} has no NoSchedule taint with key {' or '.join(sorted(keys))}"


GPU_MAX_NODES = RuleInfo(
    id="mlf-gpu-pool-max-nodes",
    title="GPU pool size within the environment's limit",
    description="No GPU node pool may scale beyond maxNodesPerPool nodes (per-environment policy "
    "config), which bounds a runaway autoscaler's bill.",
    remediation="Lower training.gpu_pools[].max_nodes, or raise maxNodesPerPool in "
    "policies/config/<env>.json after a budget review.",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=NODE_POOL_TYPES,
    section="training",
    config={"maxNodesPerPool": {"type": "integer", "default": 16, "minimum": 0,
                                "description": "Most nodes one GPU pool may scale to."}},
)


@resource_policy(GPU_MAX_NODES)
def gpu_pool_max_nodes(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    limit = number(config.get("maxNodesPerPool"))
    for pool_type, pool in gpu.node_pools(resource_type, props):
        if not gpu.is_gpu_pool(pool_type, pool):
            continue
        most = gpu.pool_max_nodes(pool_type, pool)
        if most is None:
            yield f"GPU pool{_pool_label(pool)} declares no maximum size (unbounded)"
        elif limit is not None and most > limit:
            yield f"GPU pool{_pool_label(pool)} may scale to {most} nodes, more than {limit:g}"


GPU_TYPES = RuleInfo(
    id="mlf-gpu-allowed-types",
    title="GPU machine types allowed in the environment",
    description="GPU pools use only instance/machine types (and GKE accelerator types) matching the "
    "environment's allow-lists in policy config (glob patterns; an empty list allows all).",
    remediation="Pick an accelerator the environment allows (see policies/config/<env>.json), e.g. l4 or "
    "t4 in dev.",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=NODE_POOL_TYPES,
    section="training",
    config={
        "allowedInstanceTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                                 "description": "Glob patterns of allowed GPU instance/machine types/VM sizes."},
        "allowedAccelerators": {"type": "array", "items": {"type": "string"}, "default": [],
                                "description": "Glob patterns of allowed GKE accelerator types (nvidia-l4...)."},
    },
)


def _allowed(value: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatchcase(value, p) for p in patterns)


@resource_policy(GPU_TYPES)
def gpu_allowed_types(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    machines = [str(p) for p in items(config.get("allowedInstanceTypes"))]
    accelerators = [str(p) for p in items(config.get("allowedAccelerators"))]
    for pool_type, pool in gpu.node_pools(resource_type, props):
        if not gpu.is_gpu_pool(pool_type, pool):
            continue
        for machine in gpu.pool_machines(pool_type, pool):
            if not _allowed(machine, machines):
                yield f"GPU pool{_pool_label(pool)} uses {machine}, not allowed here ({', '.join(machines)})"
        for accelerator in gpu.gke_accelerators(pool):
            kind = str(accelerator.get("type"))
            if not _allowed(kind, accelerators):
                yield f"GPU pool{_pool_label(pool)} attaches {kind}, not allowed here ({', '.join(accelerators)})"


GKE_MANAGEMENT = RuleInfo(
    id="mlf-gke-node-auto-repair-upgrade",
    title="GKE node auto-repair and auto-upgrade on",
    description="No GKE node pool turns off management.autoRepair or management.autoUpgrade (both are "
    "on when omitted); a queued-provisioning pool (queuedProvisioning.enabled) may turn off autoRepair, as GKE "
    "requires.",
    remediation="Remove management.auto_repair/auto_upgrade=False from the node pool.",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(gpu.GKE_NODE_POOL,),
    section="training",
)


@resource_policy(GKE_MANAGEMENT)
def gke_node_management(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    # A queued-provisioning pool (Dynamic Workload Scheduler) runs without auto-repair by GKE's design:
    # its nodes live only as long as the job they were provisioned for.
    queued = truthy(get(props, "queuedProvisioning.enabled"))
    if falsy(get(props, "management.autoRepair")) and not queued:
        yield "management.autoRepair is false"
    if falsy(get(props, "management.autoUpgrade")):
        yield "management.autoUpgrade is false"


AKS_LOCAL = RuleInfo(
    id="mlf-aks-local-accounts-off",
    title="AKS local accounts off",
    description="Every AKS cluster sets disableLocalAccounts true, so the only way in is Entra ID "
    "(no static cluster-admin kubeconfig).",
    remediation="Set disable_local_accounts=True on the managed cluster.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AKS,),
    section="training",
)


aks_local_accounts_off = flag_rule(AKS_LOCAL, must_be_true(
    "disableLocalAccounts", "disableLocalAccounts is not true: a static admin kubeconfig can be fetched"))


AKS_RBAC = RuleInfo(
    id="mlf-aks-azure-rbac",
    title="AKS uses Entra ID with Azure RBAC",
    description="Every AKS cluster keeps Kubernetes RBAC on and sets aadProfile.managed and "
    "aadProfile.enableAzureRBAC true, so cluster access is granted with Azure role assignments.",
    remediation="Set aad_profile=ManagedClusterAADProfileArgs(managed=True, enable_azure_rbac=True).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AKS,),
    section="training",
)


aks_azure_rbac = flag_rule(
    AKS_RBAC,
    must_not_be_false("enableRBAC", "enableRBAC is false"),
    must_be_true("aadProfile.managed", "aadProfile.managed is not true (no Entra ID integration)"),
    must_be_true("aadProfile.enableAzureRBAC", "aadProfile.enableAzureRBAC is not true"),
)


AKS_UPGRADE = RuleInfo(
    id="mlf-aks-auto-upgrade",
    title="AKS auto-upgrade channel set",
    description="Every AKS cluster sets autoUpgradeProfile.upgradeChannel to something other than none "
    "(patch, stable, rapid or node-image), the AKS counterpart of GKE auto-upgrade.",
    remediation="Set auto_upgrade_profile=ManagedClusterAutoUpgradeProfileArgs(upgrade_channel='patch').",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("azure",),
    resource_types=(AKS,),
    section="training",
)


@resource_policy(AKS_UPGRADE)
def aks_auto_upgrade(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    channel = get(props, "autoUpgradeProfile.upgradeChannel")
    if channel is None or str(channel).lower() == "none":
        yield "autoUpgradeProfile.upgradeChannel is not set (none): the cluster is never upgraded automatically"


POLICIES: list[MlfPolicy] = [
    cluster_private_endpoint, cluster_secrets_encryption, cluster_audit_logging, cluster_workload_identity,
    gpu_pool_tainted, gpu_pool_max_nodes, gpu_allowed_types, gke_node_management, aks_local_accounts_off,
    aks_azure_rbac, aks_auto_upgrade,
]
