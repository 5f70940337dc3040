"""Job queueing on every training cluster: Kueue and JobSet, and one ResourceFlavor per GPU pool.

Creates (children of the calling cluster component, through its Kubernetes provider):

- the ``kueue-system`` namespace and Kueue's official Helm chart, pinned (``queueing_versions.json``),
  with its controller on the system pool and a configuration that makes it manage every job in a
  team namespace (``manageJobsWithoutQueueName`` limited to namespaces labelled
  ``mlfabric.dev/team``: a job there that names no queue is held, never run around the quota) and
  waits for all pods of an admitted job to be ready before admitting more (``waitForPodsReady``), so
  two half-started multi-node jobs cannot deadlock each other's GPUs;
- the ``jobset-system`` namespace and JobSet's official chart, pinned: a multi-node PyTorch job is
  one JobSet that Kueue admits all-or-nothing;
- a ``ResourceFlavor`` per GPU pool, named after the pool, selecting the pool's nodes by the
  ``mlfabric.dev/gpu-pool`` label and adding the GPU taint's toleration to admitted pods.

Teams' ClusterQueues and LocalQueues are created by the teams concern (``teams.py`` here), after this.
Scale from zero still works: Kueue admits by quota, the admitted pods are created and stay pending,
and the cluster autoscaler (or GKE's) adds nodes for them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s
import yaml

from mlfabric.components.kubernetes.device_plugin import MANAGED_BY
from mlfabric.components.kubernetes.gpu_pool import (
    GPU_POOL_LABEL,
    GPU_RESOURCE,
    GPU_TAINT,
    SYSTEM_POOL_LABELS,
    GpuPool,
)

# Namespaces of teams carry this label; Kueue manages every job in them.
TEAM_LABEL: Final = "mlfabric.dev/team"
# How long an admitted job's pods may take to all become ready (GPU nodes scaling from zero take
# minutes) before Kueue evicts and requeues it, freeing the quota for another job.
PODS_READY_TIMEOUT: Final = "15m"
# The job kinds Kueue manages: plain Jobs, JobSets (multi-node training) and the Kubeflow Trainer's
# TrainJobs. Plain pods and Deployments stay unmanaged: serving and system workloads are not queued.
FRAMEWORKS: Final = ("batch/job", "jobset.x-k8s.io/jobset", "trainer.kubeflow.org/trainjob")


@dataclass(frozen=True)
class ChartRelease:
    """One pinned Helm chart (``queueing_versions.json``)."""

    chart: str
    version: str
    namespace: str
    api_version: str
    source: str


@functools.cache
def releases() -> dict[str, ChartRelease]:
    """The pinned Kueue and JobSet releases."""
    data = json.loads(Path(__file__).with_name("queueing_versions.json").read_text())
    return {
        name: ChartRelease(row["chart"], row["version"], row["namespace"], row["api_version"], row["source"])
        for name, row in data["charts"].items()
    }


def kueue_api() -> str:
    """The Kueue API version of the queues and flavors mlfabric declares."""
    return releases()["kueue"].api_version


def kueue_configuration() -> dict[str, Any]:
    """Kueue's controller configuration: the chart's default with what a shared cluster needs."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "manageJobsWithoutQueueName": True,
        "managedJobsNamespaceSelector": {"matchExpressions": [{"key": TEAM_LABEL, "operator": "Exists"}]},
        "waitForPodsReady": {"timeout": PODS_READY_TIMEOUT, "blockAdmission": False},
        "integrations": {"frameworks": list(FRAMEWORKS)},
    }


def _system_pool_placement() -> dict[str, Any]:
    return {"nodeSelector": dict(SYSTEM_POOL_LABELS)}


def _namespace(name: str, namespace: str, level: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=namespace,
            labels={**MANAGED_BY, "pod-security.kubernetes.io/enforce": level,
                    "pod-security.kubernetes.io/warn": "restricted"},
        ),
        opts=opts,
    )


def flavor_name(pool: str) -> str:
    """The ResourceFlavor of a GPU pool (what a team's ClusterQueue names)."""
    return pool


def resource_flavor(name: str, pool: GpuPool, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A pool's ResourceFlavor: admitted pods land on its nodes and tolerate its GPU taint."""
    return k8s.apiextensions.CustomResource(
        f"{name}-flavor-{pool.name}",
        api_version=kueue_api(),
        kind="ResourceFlavor",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=flavor_name(pool.name), labels=dict(MANAGED_BY)),
        spec={
            "nodeLabels": {GPU_POOL_LABEL: pool.name},
            "tolerations": [{"key": GPU_TAINT.key, "operator": "Exists", "effect": GPU_TAINT.effect}],
        },
        opts=opts,
    )


def admission_check_name(pool: str) -> str:
    """The AdmissionCheck that makes a pool's jobs wait for all their nodes at once."""
    return f"{pool}-provisioning"


def provisioning_check(name: str, pool: GpuPool, provisioning_class: str,
                       opts: pulumi.ResourceOptions) -> list[k8s.apiextensions.CustomResource]:
    """Kueue asks the cluster autoscaler for the whole job's nodes (a ProvisioningRequest of
    ``provisioning_class``) and admits the job only when they are provisioned."""
    config = k8s.apiextensions.CustomResource(
        f"{name}-provisioning-{pool.name}",
        api_version=kueue_api(),
        kind="ProvisioningRequestConfig",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=admission_check_name(pool.name), labels=dict(MANAGED_BY)),
        spec={"provisioningClassName": provisioning_class, "managedResources": [GPU_RESOURCE]},
        opts=opts,
    )
    check = k8s.apiextensions.CustomResource(
        f"{name}-admission-{pool.name}",
        api_version=kueue_api(),
        kind="AdmissionCheck",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=admission_check_name(pool.name), labels=dict(MANAGED_BY)),
        spec={
            "controllerName": "kueue.x-k8s.io/provisioning-request",
            "parameters": {"apiGroup": "kueue.x-k8s.io", "kind": "ProvisioningRequestConfig",
                           "name": admission_check_name(pool.name)},
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config])),
    )
    return [config, check]


@dataclass(frozen=True)
class Queueing:
    """What the teams concern builds on: the charts (CRDs exist once they are ready) and flavors."""

    charts: Sequence[pulumi.Resource]
    flavors: Mapping[str, k8s.apiextensions.CustomResource]
    checks: Sequence[k8s.apiextensions.CustomResource] = ()

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a ClusterQueue must wait for."""
        return [*self.charts, *self.flavors.values(), *self.checks]


def install(name: str, pools: Sequence[GpuPool], opts: pulumi.ResourceOptions,
            provisioning_class: str | None = None) -> Queueing:
    """Kueue, JobSet and the pools' flavors, through the provider in ``opts`` (after its system nodes).

    ``provisioning_class``: the ProvisioningRequest class of the cloud's autoscaler for pools with
    queued provisioning (GKE: ``queued-provisioning.gke.io``); None where the cloud has none."""
    pinned = releases()
    # Kueue's chart runs its controller non-root with the RuntimeDefault seccomp profile: restricted.
    kueue_ns = _namespace(f"{name}-kueue", pinned["kueue"].namespace, "restricted", opts)
    kueue = k8s.helm.v4.Chart(
        f"{name}-kueue",
        chart=pinned["kueue"].chart,
        version=pinned["kueue"].version,
        namespace=pinned["kueue"].namespace,
        values={
            "controllerManager": _system_pool_placement(),
            "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(kueue_configuration(), sort_keys=False)},
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[kueue_ns])),
    )
    # JobSet's chart (0.12.0) sets no pod seccomp profile or runAsNonRoot: baseline, warned at restricted.
    jobset_ns = _namespace(f"{name}-jobset", pinned["jobset"].namespace, "baseline", opts)
    jobset = k8s.helm.v4.Chart(
        f"{name}-jobset",
        chart=pinned["jobset"].chart,
        version=pinned["jobset"].version,
        namespace=pinned["jobset"].namespace,
        values={"controller": _system_pool_placement()},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[jobset_ns])),
    )
    after_crds = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[kueue]))
    flavors = {pool.name: resource_flavor(name, pool, after_crds) for pool in pools}
    checks = [
        resource
        for pool in pools if pool.queued_provisioning
        for resource in provisioning_check(name, pool, _required(provisioning_class, pool), after_crds)
    ]
    return Queueing(charts=(kueue, jobset), flavors=flavors, checks=tuple(checks))


def _required(provisioning_class: str | None, pool: GpuPool) -> str:
    if provisioning_class is None:  # the cloud's spec rules refuse queued_provisioning first
        raise ValueError(f"pool {pool.name}: queued provisioning needs the cloud's provisioning class")
    return provisioning_class
