"""Serving on GCP: one autoscaled Cloud Run service per spec endpoint, L4 GPUs where asked.

Why Cloud Run and not Vertex AI or Kubernetes: Vertex AI endpoints can be declared but a model cannot
be deployed to one in pulumi-gcp, so replicas, traffic and the model itself would live outside the
program. A Deployment/Service/HPA on the GKE cluster is declarable, but gives no HTTPS URL without a
DNS name and certificate the spec does not have, and must be applied through the cluster's API
server, which the private endpoint keeps out of the deployer's reach. Cloud Run v2 is declared
entirely through Google's APIs: HTTPS URL, IAM-authenticated invocation, min/max instances, revision
traffic split, CMEK, a dedicated identity and request metrics for alerting. Its limit is the GPU: it
offers NVIDIA L4 only, so an endpoint asking for another accelerator is refused before anything is
declared (serve those from the GKE cluster's GPU pools yourself).

Creates: ``gcp:projects/service:Service`` for the Cloud Run API; with storage, a
``gcp:kms/cryptoKeyIAMMember`` letting the Cloud Run service agent use the platform's storage key
(the revisions' images are encrypted with it). Per spec endpoint:

- a ``gcp:serviceaccount/account:Account`` the service runs as, holding no role (the image carries
  the model; Cloud Run's service agent pulls the image) — never the default compute account;
- a ``gcp:cloudrunv2/service:Service`` ``<platform>-<environment>-<endpoint>``: reachable over HTTPS
  by callers with ``roles/run.invoker`` only (RBAC grants it; never ``allUsers``), between
  ``min_replicas`` and ``max_replicas`` instances, request concurrency derived from
  ``target_invocations_per_replica`` and ``latency_p99_ms`` (in-flight requests = rate x time per
  request), CPU/memory from the spec's ``instance`` (a GCP machine of the catalogue) or the L4
  shape (4 vCPU, 16 GiB, 1 GPU, CPU always allocated, zonal redundancy in prod only), egress to
  private ranges through the platform subnet when there is a network, deletion protection with the
  platform's;
- two ``gcp:monitoring/alertPolicy:AlertPolicy`` per endpoint, each per revision (a challenger is
  watched on its own): p99 request latency above ``latency_p99_ms`` for five minutes, and 5xx or 4xx
  responses above ``error_rate_percent`` of requests for five minutes; both notify every channel of
  the monitoring concern.

Traffic: revisions are named ``<service>-<hash of the revision's settings>``. Without a challenger
the main revision gets 100% (tag ``main``). With ``traffic.challenger`` the service's template runs
the challenger image and traffic is split by revision: ``100 - percent`` to the main revision, which
must already exist — deploy the main image first — and ``percent`` to the challenger (tag
``challenger``). Each tagged revision also gets its own URL for smoke tests.

Not available on Cloud Run, so refused or ignored (AWS SageMaker has them): shadow variants (no
request mirroring: refused), data capture (no payload capture: warned, request logs go to the
platform log bucket), canary/linear rollouts with alarm rollback (a new revision takes its traffic
once it passes its startup probe; a manual canary is a challenger with ``percent``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components import catalog, naming
from mlfabric.components.concerns import ServingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.alerts import (
    RUN_LATENCIES,
    RUN_REQUESTS,
    Aggregation,
    Alerts,
    alert_channels,
    metric_filter,
    threshold,
)
from mlfabric.components.gcp.common import account_id, agent_key_user, dict_output, enable_apis, services_prefix
from mlfabric.components.spec import EndpointSpec, MonitoringSpec, ServingSpec, image_repository

RUN_API: Final = "run.googleapis.com"
# Cloud Run offers this GPU (the catalogue's device name for "l4" on GCP) and no other.
CLOUD_RUN_ACCELERATORS: Final = ("l4",)
# What an endpoint runs on when the spec names neither an instance nor an accelerator.
DEFAULT_CPU_MACHINE: Final = "e2-standard-4"
# Cloud Run's largest instance.
MAX_VCPUS: Final = 8
MAX_MEMORY_GIB: Final = 32
MAX_CONCURRENCY: Final = 1000
SERVICE_NAME_MAX: Final = 49
CONTAINER_PORT: Final = 8080
REQUEST_TIMEOUT: Final = "300s"
_ALERT_DURATION: Final = "300s"
_PER_REVISION: Final = ("resource.label.revision_name",)


@dataclass(frozen=True)
class Shape:
    """What one Cloud Run instance of an endpoint gets."""

    cpu: int
    memory_gib: int
    gpu: str | None  # Cloud Run accelerator name (node selector), None for CPU only


def service_name(base_name: str, endpoint: str) -> str:
    """Physical Cloud Run service name, within Cloud Run's 49 characters (hashed when longer)."""
    name = f"{services_prefix(base_name)}{endpoint}"
    if len(name) <= SERVICE_NAME_MAX:
        return name
    digest = naming.short_hash(base_name, endpoint)
    return f"{name[: SERVICE_NAME_MAX - len(digest) - 1].rstrip('-')}-{digest}"


def shape(endpoint: EndpointSpec) -> Shape:
    """CPU, memory and GPU of one instance: the L4 shape, the named machine, or the CPU default."""
    if endpoint.accelerator is not None:
        gpu = catalog.gpu_shape("gcp", endpoint.accelerator)
        return Shape(gpu.vcpus, gpu.memory_gib, gpu.device)
    machine = catalog.cpu_machine("gcp", endpoint.instance or DEFAULT_CPU_MACHINE)
    assert machine is not None  # _check refused unknown machines
    return Shape(machine.vcpus, machine.memory_gib, None)


def concurrency(endpoint: EndpointSpec, monitoring: MonitoringSpec) -> int:
    """Requests one instance serves at once so it handles its target rate (Little's law), at least 1."""
    in_flight = endpoint.target_invocations_per_replica / 60 * monitoring.latency_p99_ms / 1000
    return max(1, min(MAX_CONCURRENCY, math.ceil(in_flight)))


def _check(index: int, endpoint: EndpointSpec) -> None:
    """What Cloud Run refuses or cannot do, caught before anything is declared; one line each."""
    where = f"serving.endpoints[{index}]"
    if endpoint.accelerator is not None and endpoint.accelerator not in CLOUD_RUN_ACCELERATORS:
        raise pulumi.RunError(
            f"{where}.accelerator: Cloud Run serves on {', '.join(CLOUD_RUN_ACCELERATORS)} GPUs only "
            f"(got {endpoint.accelerator!r}); use l4, or serve from the training cluster's GPU pools"
        )
    if endpoint.instance is not None:
        machine = catalog.cpu_machine("gcp", endpoint.instance)
        known = ", ".join(m.name for m in catalog.CPU_MACHINES if m.cloud == "gcp")
        if machine is None:
            raise pulumi.RunError(
                f"{where}.instance: not a GCP machine the catalogue knows (got {endpoint.instance!r}); "
                f"use one of {known}, or accelerator: l4"
            )
        if machine.vcpus > MAX_VCPUS or machine.memory_gib > MAX_MEMORY_GIB:
            raise pulumi.RunError(
                f"{where}.instance: a Cloud Run instance has at most {MAX_VCPUS} vCPUs and {MAX_MEMORY_GIB} GiB "
                f"(got {endpoint.instance!r})"
            )
    if endpoint.traffic.shadow is not None:
        raise pulumi.RunError(
            f"{where}.traffic.shadow: Cloud Run cannot mirror requests to a shadow version; drop the shadow "
            "or use a challenger with a small percent (got a shadow)"
        )


def _traffic(split: list[tuple[str, str, int]]) -> list[gcp.cloudrunv2.ServiceTrafficArgs]:
    """Traffic pinned to named revisions: (tag, revision, percent) each."""
    return [
        gcp.cloudrunv2.ServiceTrafficArgs(
            type="TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", revision=revision, percent=percent, tag=tag
        )
        for tag, revision, percent in split
    ]


class GcpServing(ServingOutputs):
    """Cloud Run endpoints: autoscaled, IAM-only, CMEK, revision traffic split, latency/error alerts."""

    type_token = "mlfabric:serving:GcpServing"
    needs = ("network", "storage", "registry", "monitoring")

    def __init__(self, name: str, spec: ServingSpec, ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        for index, endpoint in enumerate(spec.endpoints):
            _check(index, endpoint)
        super().__init__(name, spec, ctx, opts)
        self._monitoring = ctx.monitoring_spec
        # Static (known at declaration): what per-service IAM in RBAC is declared from.
        self.service_names: dict[str, str] = {e.name: service_name(ctx.base_name, e.name) for e in spec.endpoints}
        if any(e.data_capture_percent > 0 for e in spec.endpoints):
            pulumi.log.warn(
                "serving: Cloud Run cannot capture request and response payloads; data_capture_percent is not "
                "applied on GCP (request logs, without payloads, go to the platform log bucket)",
                self,
            )
        # What every service waits for, the key its revisions are encrypted with, where its alerts go.
        self._after: list[pulumi.Resource] = []
        self._key: pulumi.Output[str] | None = None
        self._alerts = Alerts(ctx, self, alert_channels(ctx.monitoring))
        services = self._declare() if spec.endpoints else {}

        self.endpoint_names = dict_output({k: s.name for k, s in services.items()})
        self.endpoint_urls = dict_output({k: s.uri for k, s in services.items()})
        self.register_contract()

    def _declare(self) -> dict[str, gcp.cloudrunv2.Service]:
        """The Cloud Run API, the run agent's grant on the storage key, and every endpoint."""
        name, ctx = self._name, self._ctx
        apis = enable_apis(name, ctx, self, RUN_API)
        self._after.extend(apis.values())
        if ctx.storage is not None:
            self._key = ctx.storage.encryption_key_id
            self._after.append(agent_key_user(name, "serving", RUN_API, self._key, ctx, self, apis[RUN_API]))
        return {e.name: self._endpoint(e) for e in self._spec.endpoints}

    def _image_url(self, image: str) -> pulumi.Output[str]:
        repository = image_repository(image)
        if repository is None:
            return pulumi.Output.from_input(image)
        if self._ctx.registry is None:
            raise pulumi.RunError(
                f"serving: image {image!r} names a platform repository but the platform has no registry"
            )
        suffix = image[len(repository):]
        return self._ctx.registry.registry_urls.apply(lambda urls: urls[repository] + suffix)

    def _revision(self, service: str, image: str, endpoint: EndpointSpec) -> str:
        """A revision name that changes whenever anything the revision runs changes (names are unique)."""
        settings = {"image": image, "shape": dataclasses.asdict(shape(endpoint)),
                    "concurrency": concurrency(endpoint, self._monitoring)}
        return f"{service}-{naming.short_hash(json.dumps(settings, sort_keys=True), length=8)}"

    def _revisions(
        self, service: str, endpoint: EndpointSpec
    ) -> tuple[str, str, list[gcp.cloudrunv2.ServiceTrafficArgs]]:
        """(image, revision) the service's template runs, and the traffic split over pinned revisions."""
        challenger = endpoint.traffic.challenger
        main = self._revision(service, endpoint.image, endpoint)
        if challenger is None:
            return endpoint.image, main, _traffic([("main", main, 100)])
        revision = self._revision(service, challenger.image, endpoint)
        split = [("main", main, 100 - challenger.percent), ("challenger", revision, challenger.percent)]
        return challenger.image, revision, _traffic(split)

    def _endpoint(self, endpoint: EndpointSpec) -> gcp.cloudrunv2.Service:
        ctx = self._ctx
        logical = f"{self._name}-{endpoint.name}"
        physical = self.service_names[endpoint.name]
        runtime = gcp.serviceaccount.Account(
            f"{logical}-runtime",
            account_id=account_id(ctx.base_name, f"serve-{endpoint.name}"),
            display_name=f"mlfabric {ctx.base_name}: endpoint {endpoint.name}",
            description="Identity of the endpoint's Cloud Run revisions; holds no role.",
            project=ctx.account,
            opts=self._child,
        )
        image, revision, traffics = self._revisions(physical, endpoint)
        labels = ctx.tags({"mlfabric-endpoint": endpoint.name, "mlfabric-model": endpoint.model})
        service = gcp.cloudrunv2.Service(
            logical,
            name=physical,
            project=ctx.account,
            location=ctx.region,
            description=f"mlfabric {ctx.base_name}: endpoint {endpoint.name} (model {endpoint.model})",
            # Reachable over HTTPS by IAM-authenticated callers (roles/run.invoker) only.
            ingress="INGRESS_TRAFFIC_ALL",
            invoker_iam_disabled=False,
            scaling=gcp.cloudrunv2.ServiceScalingArgs(
                min_instance_count=endpoint.min_replicas, max_instance_count=endpoint.max_replicas
            ),
            template=self._template(endpoint, image, revision, runtime.email, labels),
            traffics=traffics,
            deletion_protection=ctx.deletion_protection,
            labels=labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._after),
        )
        self._endpoint_alerts(logical, physical, service)
        return service

    def _template(
        self, endpoint: EndpointSpec, image: str, revision: str, runtime: pulumi.Output[str], labels: dict[str, str]
    ) -> gcp.cloudrunv2.ServiceTemplateArgs:
        """The revision the service runs: its identity, shape, key, concurrency and network."""
        size = shape(endpoint)
        limits = {"cpu": str(size.cpu), "memory": f"{size.memory_gib}Gi"}
        if size.gpu is not None:
            limits["nvidia.com/gpu"] = "1"
        return gcp.cloudrunv2.ServiceTemplateArgs(
            revision=revision,
            service_account=runtime,
            encryption_key=self._key,
            execution_environment="EXECUTION_ENVIRONMENT_GEN2",
            max_instance_request_concurrency=concurrency(endpoint, self._monitoring),
            timeout=REQUEST_TIMEOUT,
            node_selector=gcp.cloudrunv2.ServiceTemplateNodeSelectorArgs(accelerator=size.gpu)
            if size.gpu is not None
            else None,
            # Zonal redundancy keeps capacity for a zone outage; outside prod, best effort is cheaper.
            gpu_zonal_redundancy_disabled=(self._ctx.environment != "prod") if size.gpu is not None else None,
            containers=[
                gcp.cloudrunv2.ServiceTemplateContainerArgs(
                    image=self._image_url(image),
                    ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=CONTAINER_PORT),
                    resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                        limits=limits,
                        # GPU instances need their CPU always allocated; CPU-only ones bill per request.
                        cpu_idle=size.gpu is None,
                        startup_cpu_boost=True,
                    ),
                )
            ],
            vpc_access=self._vpc_access(),
            labels=labels,
        )

    def _vpc_access(self) -> gcp.cloudrunv2.ServiceTemplateVpcAccessArgs | None:
        """Egress to private ranges through the platform subnet; none without a network."""
        network = self._ctx.network
        if network is None:
            return None
        return gcp.cloudrunv2.ServiceTemplateVpcAccessArgs(
            network_interfaces=[
                gcp.cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                    network=network.network_id,
                    subnetwork=network.private_subnet_ids.apply(lambda ids: ids[0]),
                )
            ],
            egress="PRIVATE_RANGES_ONLY",
        )

    def _endpoint_alerts(self, logical: str, physical: str, service: gcp.cloudrunv2.Service) -> None:
        """p99 latency and error rate per revision, so a challenger is watched on its own."""
        spec = self._monitoring
        # Built from the service's name output so each policy depends on its service.
        revisions = service.name.apply(
            lambda name: f'resource.type="cloud_run_revision" AND resource.labels.service_name="{name}"'
        )
        self._alerts.policy(
            f"{logical}-p99-latency",
            f"{physical}: p99 latency above {spec.latency_p99_ms} ms",
            [
                threshold(
                    "p99 request latency per revision",
                    metric_filter(RUN_LATENCIES, revisions),
                    comparison="COMPARISON_GT",
                    value=spec.latency_p99_ms,
                    duration=_ALERT_DURATION,
                    over=Aggregation("ALIGN_DELTA", "REDUCE_PERCENTILE_99", _PER_REVISION),
                )
            ],
            documentation=f"p99 latency of endpoint {physical} stayed above {spec.latency_p99_ms} ms for "
            "5 minutes. The revision label says whether main or challenger is slow.",
            severity="ERROR",
        )
        self._alerts.policy(
            f"{logical}-error-rate",
            f"{physical}: error rate above {spec.error_rate_percent:g}%",
            [
                threshold(
                    f"{kind} responses per request, per revision",
                    metric_filter(RUN_REQUESTS, revisions, f'metric.labels.response_code_class="{kind}"'),
                    comparison="COMPARISON_GT",
                    # Cloud Monitoring compares a ratio of two filters as a fraction, not a percent.
                    value=spec.error_rate_percent / 100,
                    duration=_ALERT_DURATION,
                    over=Aggregation("ALIGN_RATE", "REDUCE_SUM", _PER_REVISION),
                    denominator=metric_filter(RUN_REQUESTS, revisions),
                )
                for kind in ("5xx", "4xx")
            ],
            documentation=f"5xx or 4xx responses of endpoint {physical} stayed above {spec.error_rate_percent:g}% "
            "of requests for 5 minutes.",
            severity="ERROR",
        )
