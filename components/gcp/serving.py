"""Serving on GCP: one autoscaled Cloud Run service per spec endpoint, L4 GPUs where asked.

Why Cloud Run and not Vertex AI or Kubernetes: Vertex AI endpoints can be declared but a model cannot
be deployed to one in pulumi-gcp, so replicas, traffic and the model itself would live outside the
program. A Deployment/Service/HPA on the GKE cluster is declarable, but gives no HTTPS URL without a
DNS name and certificate the spec does not have, and must be applied through the cluster's API
server, which the private endpoint keeps out of the deployer's reach. Cloud Run v2 is declared
entirely through Google's APIs: HTTPS URL, IAM-authenticated invocation, min/max instances, revision
traffic split, CMEK, a dedicated identity and request metrics for alerting. Its limit is the GPU: it
offers NVIDIA L4 only, so the spec refuses an endpoint asking for another accelerator (use
``accelerator: l4``, or a CPU ``instance``).

Creates: ``gcp:projects/service:Service`` for the Cloud Run API; with storage, a
``gcp:kms/cryptoKeyIAMMember`` letting the Cloud Run service agent use the platform's storage key
(the revisions' images are encrypted with it). Per spec endpoint:

- a ``gcp:serviceaccount/account:Account`` the service runs as, holding no role (the image carries
  the model; Cloud Run's service agent pulls the image) — never the default compute account;
- a ``gcp:cloudrunv2/service:Service`` ``<platform>-<environment>-<endpoint>``: reachable over HTTPS
  by callers with ``roles/run.invoker`` only (RBAC grants it; never ``allUsers``), between
  ``min_replicas`` and ``max_replicas`` instances, request concurrency derived from
  ``target_invocations_per_replica`` and ``latency_p99_ms`` (in-flight requests = rate x time per
  request), CPU/memory from the spec's ``instance`` (a machine type of ``machine_types.json``) or the L4
  shape (4 vCPU, 16 GiB, 1 GPU, CPU always allocated, zonal redundancy in prod only), egress to
  private ranges through the platform subnet when there is a network, deletion protection with the
  platform's;
- two ``gcp:monitoring/alertPolicy:AlertPolicy`` per endpoint, each per revision (a challenger is
  watched on its own): p99 request latency above ``latency_p99_ms`` for five minutes, and 5xx or 4xx
  responses above ``error_rate_percent`` of requests for five minutes; both notify every channel of
  the monitoring concern.

Traffic: revisions are named ``<service>-<hash of the revision's settings>``; the service's traffic
sends 100% to the revision its template declares (tag ``main``), so a service deploys from nothing and
every traffic target names a revision the program declares. Cloud Run shifts all traffic to a new
revision once it passes its startup probe.

Refused by the spec on GCP (``capabilities.py``: each refusal names the field and what to use
instead), never silently dropped: accelerators other than L4, a challenger (one service declares one
revision, so a second one cannot exist on the first deploy), a shadow (no request mirroring),
payload capture (Cloud Run's request logs carry no bodies), and canary/linear rollouts with alarm
rollback (``traffic.strategy: all-at-once``; in dev only a warning).
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
from mlfabric.components.concerns import ServingOutputs, image_url
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
from mlfabric.components.gcp.machines import machine_type
from mlfabric.components.spec import EndpointSpec, MonitoringSpec, ServingSpec

RUN_API: Final = "run.googleapis.com"
# What an endpoint runs on when the spec names neither an instance nor an accelerator.
DEFAULT_CPU_MACHINE: Final = "e2-standard-4"
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
    machine = machine_type(endpoint.instance or DEFAULT_CPU_MACHINE)
    # The spec rules refused names without a published size (spec_rules.instance_problem).
    assert machine is not None and machine.vcpus is not None and machine.memory_gib is not None
    return Shape(machine.vcpus, math.ceil(machine.memory_gib), None)


def concurrency(endpoint: EndpointSpec, monitoring: MonitoringSpec) -> int:
    """Requests one instance serves at once so it handles its target rate (Little's law), at least 1."""
    in_flight = endpoint.target_invocations_per_replica / 60 * monitoring.latency_p99_ms / 1000
    return max(1, min(MAX_CONCURRENCY, math.ceil(in_flight)))


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
        # What Cloud Run cannot do was refused by the spec (capabilities.py, spec_rules.py).
        super().__init__(name, spec, ctx, opts)
        self._monitoring = ctx.monitoring_spec
        # Static (known at declaration): what per-service IAM in RBAC is declared from.
        # A renamed endpoint keeps its service: physical names derive from its first name.
        self.service_names: dict[str, str] = {
            e.name: service_name(ctx.base_name, naming.original_name(e.name, e.renamed_from)) for e in spec.endpoints
        }
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

    def _revision(self, service: str, image: str, endpoint: EndpointSpec) -> str:
        """A revision name that changes whenever anything the revision runs changes (names are unique)."""
        settings = {"image": image, "shape": dataclasses.asdict(shape(endpoint)),
                    "concurrency": concurrency(endpoint, self._monitoring)}
        return f"{service}-{naming.short_hash(json.dumps(settings, sort_keys=True), length=8)}"

    def _revisions(
        self, service: str, endpoint: EndpointSpec
    ) -> tuple[str, str, list[gcp.cloudrunv2.ServiceTrafficArgs]]:
        """(image, revision) the service's template runs, and its traffic: all of it to that revision.

        Traffic only ever names the revision this template declares, so a service deploys from
        nothing (a challenger, which would need a second revision the program cannot declare, is
        refused by the spec: capabilities.py)."""
        main = self._revision(service, endpoint.image, endpoint)
        return endpoint.image, main, _traffic([("main", main, 100)])

    def _endpoint(self, endpoint: EndpointSpec) -> gcp.cloudrunv2.Service:
        ctx = self._ctx
        logical = f"{self._name}-{endpoint.name}"
        physical = self.service_names[endpoint.name]
        first = naming.original_name(endpoint.name, endpoint.renamed_from)

        def renamed(resource: str) -> pulumi.ResourceOptions:
            """Options of a child derived from the endpoint: its previous names as aliases."""
            aliases = naming.rename_aliases(resource, endpoint.name, endpoint.renamed_from)
            return pulumi.ResourceOptions(parent=self, aliases=aliases or None)

        runtime = gcp.serviceaccount.Account(
            f"{logical}-runtime",
            account_id=account_id(ctx.base_name, f"serve-{first}"),
            display_name=f"mlfabric {ctx.base_name}: endpoint {endpoint.name}",
            description="Identity of the endpoint's Cloud Run revisions; holds no role.",
            project=ctx.account,
            opts=renamed(f"{logical}-runtime"),
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
            opts=pulumi.ResourceOptions.merge(renamed(logical), pulumi.ResourceOptions(depends_on=self._after)),
        )
        self._endpoint_alerts(logical, physical, service, endpoint)
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
                    image=image_url(image, self._ctx.registry),
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

    def _endpoint_alerts(
        self, logical: str, physical: str, service: gcp.cloudrunv2.Service, endpoint: EndpointSpec
    ) -> None:
        """p99 latency and error rate per revision."""
        spec = self._monitoring

        def aliases(resource: str) -> list[pulumi.Alias]:
            return naming.rename_aliases(resource, endpoint.name, endpoint.renamed_from)

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
            "5 minutes. The revision label says which revision is slow.",
            severity="ERROR",
            aliases=aliases(f"{logical}-p99-latency"),
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
            aliases=aliases(f"{logical}-error-rate"),
        )
