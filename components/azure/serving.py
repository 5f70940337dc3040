"""Serving on Azure: Azure ML managed online endpoints with blue/green and shadow deployments.

Creates, per spec endpoint, in the platform's Azure ML workspace (``mlfabric.components.azure.registry``):

- a ``machinelearningservices:OnlineEndpoint`` named ``<platform>-<environment>-<endpoint>`` (a stable
  scoring URL): Entra ID token auth (``AADToken``, never anonymous), a system-assigned identity (Azure
  ML grants it AcrPull and blob read on the workspace's registry and storage), public network access
  off when the network has private endpoints;
- per version (``main``, plus ``challenger`` and ``shadow`` when ``traffic`` asks) a
  ``machinelearningservices:EnvironmentVersion`` pinning the version's image (versioned by a hash of
  the image reference: environment versions are immutable) with the inference server's routes, and a
  ``machinelearningservices:OnlineDeployment`` of that environment: the spec's instance type (or the
  catalogue's 1-GPU VM size for ``accelerator``), ``min_replicas`` instances, Application Insights on,
  model data collection (inputs and outputs) at ``data_capture_percent``, no public egress with
  private endpoints;
- per version a ``monitor:AutoscaleSetting`` on the deployment between ``min_replicas`` and
  ``max_replicas``, scaling on requests per minute per instance around
  ``target_invocations_per_replica``;
- a ``resources:Deployment`` (an ARM template deployment) that sets the endpoint's traffic split once
  its deployments exist: ``main`` 100 - challenger percent, ``challenger`` its percent, and the
  ``shadow`` percent as mirror traffic. Azure ML refuses traffic for deployments that do not exist
  yet, and a deployment cannot exist before its endpoint: the typed endpoint is created without
  traffic and this template writes the same endpoint again with it, in the same ``pulumi up``;
- two ``monitor:MetricAlert`` s sent to ``ctx.monitoring.alert_topic`` (the action group): p99
  request latency above ``monitoring.latency_p99_ms``, and 5xx responses per minute above
  ``monitoring.error_rate_percent`` of the endpoint's nominal load (``min_replicas`` x
  ``target_invocations_per_replica``): Azure metric alerts cannot divide one metric by another.

Alert thresholds live in the spec's ``monitoring`` section (``ctx.monitoring_spec``).
``traffic.strategy``, ``canary_percent`` and ``bake_minutes`` describe a guarded rollout that Azure ML
does not run by itself: a changed image makes a new environment version and updates each deployment
in place (Azure ML replaces its instances with surge); staged traffic shifting is a CI concern here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import pulumi
from pulumi_azure_native import machinelearningservices as aml
from pulumi_azure_native import monitor, resources

from mlfabric.components import catalog, naming
from mlfabric.components.azure.common import HasPrivateLinks, WorkspaceHandles, output_mapping
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.concerns import ServingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import EndpointSpec, MonitoringSpec, ServingSpec, image_repository

# What an endpoint runs on when the spec names neither an instance type nor an accelerator.
DEFAULT_CPU_INSTANCE: Final = "Standard_DS3_v2"
ENDPOINT_METRICS: Final = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
# The port and routes of Azure ML's inference server (azureml-inference-server-http), which serving
# images are expected to run.
INFERENCE_PORT: Final = 5001
HEALTH_ROUTE: Final = "/"
SCORING_ROUTE: Final = "/score"
# Azure ML mirrors at most 50% of live traffic to shadow deployments.
MAX_MIRROR_PERCENT: Final = 50
# The ARM API version the traffic template writes the endpoint with.
ENDPOINT_API_VERSION: Final = "2024-10-01"
_MAX_ENDPOINT_NAME: Final = 32
_SCALE_IN_FRACTION: Final = 0.6


def endpoint_name(base_name: str, endpoint: str) -> str:
    """Physical endpoint name: at most 32 characters (unique per region), hashed when longer."""
    name = f"{base_name}-{endpoint}"
    if len(name) <= _MAX_ENDPOINT_NAME:
        return name
    suffix = naming.short_hash(name)
    return f"{name[: _MAX_ENDPOINT_NAME - len(suffix) - 1].rstrip('-')}-{suffix}"


def instance_type(endpoint: EndpointSpec) -> str:
    """The VM size: as given, the catalogue's 1-GPU size for the accelerator, or the CPU default."""
    if endpoint.instance is not None:
        return endpoint.instance
    if endpoint.accelerator is not None:
        return catalog.gpu_shape("azure", endpoint.accelerator).machine
    return DEFAULT_CPU_INSTANCE


def error_threshold_per_minute(endpoint: EndpointSpec, monitoring: MonitoringSpec) -> float:
    """5xx responses per minute that mean ``error_rate_percent`` of the endpoint's nominal load."""
    nominal = endpoint.min_replicas * endpoint.target_invocations_per_replica
    return max(1.0, round(nominal * monitoring.error_rate_percent / 100, 2))


@dataclass(frozen=True)
class _Variant:
    name: Literal["main", "challenger", "shadow"]
    image: str
    percent: int


def variants(endpoint: EndpointSpec) -> list[_Variant]:
    traffic = endpoint.traffic
    challenger = traffic.challenger.percent if traffic.challenger else 0
    found = [_Variant("main", endpoint.image, 100 - challenger)]
    if traffic.challenger is not None:
        found.append(_Variant("challenger", traffic.challenger.image, challenger))
    if traffic.shadow is not None:
        found.append(_Variant("shadow", traffic.shadow.image, traffic.shadow.percent))
    return found


def traffic_split(endpoint: EndpointSpec) -> tuple[dict[str, int], dict[str, int]]:
    """(live traffic, mirrored traffic) by deployment name, as Azure ML takes them."""
    live: dict[str, int] = {v.name: v.percent for v in variants(endpoint) if v.name != "shadow"}
    mirror: dict[str, int] = {v.name: v.percent for v in variants(endpoint) if v.name == "shadow"}
    return live, mirror


def _check(index: int, endpoint: EndpointSpec) -> None:
    """Azure-only limits the cloud-neutral spec cannot know; one line each, naming the field."""
    shadow = endpoint.traffic.shadow
    if shadow is not None and shadow.percent > MAX_MIRROR_PERCENT:
        raise pulumi.RunError(
            f"serving.endpoints[{index}].traffic.shadow.percent: Azure ML mirrors at most {MAX_MIRROR_PERCENT}% "
            f"of live traffic (got {shadow.percent})"
        )


class AzureServing(ServingOutputs):
    """Azure ML managed online endpoints: A/B and shadow deployments, autoscaling, alerts."""

    type_token = "mlfabric:serving:AzureServing"
    needs = ("network", "registry", "monitoring")

    def __init__(
        self,
        name: str,
        spec: ServingSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        for index, endpoint in enumerate(spec.endpoints):
            _check(index, endpoint)
        if not isinstance(ctx.registry, WorkspaceHandles):
            raise pulumi.RunError("serving: Azure ML endpoints live in the platform's ML workspace (registry concern)")
        super().__init__(name, spec, ctx, opts)
        self._monitoring: MonitoringSpec = ctx.monitoring_spec
        self._registry: WorkspaceHandles = ctx.registry
        self._group: pulumi.Output[str] = prerequisites_of(ctx).resource_group_name
        self._private: bool = isinstance(ctx.network, HasPrivateLinks) and ctx.network.private_links is not None
        self._alerts_to: pulumi.Output[str] | None = ctx.monitoring.alert_topic if ctx.monitoring is not None else None

        endpoints = {e.name: self._endpoint(e) for e in spec.endpoints}

        self.endpoint_names = output_mapping({k: e.name for k, e in endpoints.items()})
        self.endpoint_urls = output_mapping(
            {k: e.properties.apply(lambda p: p.scoring_uri or "") for k, e in endpoints.items()}
        )
        self.register_contract()

    def _image_url(self, image: str) -> pulumi.Output[str]:
        repository = image_repository(image)
        if repository is None:
            return pulumi.Output.from_input(image)
        suffix = image[len(repository):]
        return self._registry.registry_urls.apply(lambda urls: urls[repository] + suffix)

    # --- per endpoint -------------------------------------------------------------------------

    def _endpoint(self, spec: EndpointSpec) -> aml.OnlineEndpoint:
        ctx = self._ctx
        logical = f"{self._name}-{spec.name}"
        physical = endpoint_name(ctx.base_name, spec.name)
        tags = ctx.tags({"mlfabric-endpoint": spec.name})
        auth, network_access = "AADToken", "Disabled" if self._private else "Enabled"
        description = f"mlfabric {ctx.base_name}: {spec.name} serving model {spec.model}"
        endpoint = aml.OnlineEndpoint(
            logical,
            endpoint_name=physical,
            workspace_name=self._registry.ml_workspace_name,
            resource_group_name=self._group,
            location=ctx.region,
            identity=aml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=aml.OnlineEndpointPropertiesArgs(
                auth_mode=auth,
                public_network_access=network_access,
                description=description,
            ),
            tags=tags,
            # The traffic template below owns the split; the endpoint resource never sets it.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["properties.traffic", "properties.mirrorTraffic"]),
        )
        deployments = [self._deployment(logical, endpoint, spec, v) for v in variants(spec)]
        live, mirror = traffic_split(spec)
        template = pulumi.Output.all(self._registry.ml_workspace_name, endpoint.name).apply(
            lambda names: _traffic_template(
                names[0], names[1], ctx.region, tags, auth, network_access, description, live, mirror
            )
        )
        resources.Deployment(
            f"{logical}-traffic",
            deployment_name=f"{physical}-traffic",
            resource_group_name=self._group,
            properties=resources.DeploymentPropertiesArgs(mode=resources.DeploymentMode.INCREMENTAL, template=template),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=deployments),
        )
        self._alerts(logical, physical, endpoint, spec)
        return endpoint

    def _deployment(
        self, logical: str, endpoint: aml.OnlineEndpoint, spec: EndpointSpec, variant: _Variant
    ) -> aml.OnlineDeployment:
        ctx = self._ctx
        tags = ctx.tags({"mlfabric-endpoint": spec.name, "mlfabric-variant": variant.name})
        environment = aml.EnvironmentVersion(
            f"{logical}-{variant.name}",
            name=f"{endpoint_name(ctx.base_name, spec.name)}-{variant.name}",
            version=naming.short_hash(variant.image, length=12),
            workspace_name=self._registry.ml_workspace_name,
            resource_group_name=self._group,
            properties=aml.EnvironmentVersionPropertiesArgs(
                image=self._image_url(variant.image),
                os_type="Linux",
                description=f"mlfabric {ctx.base_name}: {spec.name}/{variant.name} serving image {variant.image}",
                inference_config=aml.InferenceContainerPropertiesArgs(
                    liveness_route=aml.RouteArgs(port=INFERENCE_PORT, path=HEALTH_ROUTE),
                    readiness_route=aml.RouteArgs(port=INFERENCE_PORT, path=HEALTH_ROUTE),
                    scoring_route=aml.RouteArgs(port=INFERENCE_PORT, path=SCORING_ROUTE),
                ),
                tags=tags,
            ),
            opts=self._child,
        )
        capture = None
        if spec.data_capture_percent > 0:
            collection = aml.CollectionArgs(data_collection_mode="Enabled", sampling_rate=spec.data_capture_percent / 100)
            capture = aml.DataCollectorArgs(
                collections={"model_inputs": collection, "model_outputs": collection}, rolling_rate="Hour"
            )
        deployment = aml.OnlineDeployment(
            f"{logical}-{variant.name}",
            deployment_name=variant.name,
            endpoint_name=endpoint.name,
            workspace_name=self._registry.ml_workspace_name,
            resource_group_name=self._group,
            location=ctx.region,
            sku=aml.SkuArgs(name="Default", capacity=spec.min_replicas),
            properties=aml.ManagedOnlineDeploymentArgs(
                endpoint_compute_type="Managed",
                instance_type=instance_type(spec),
                environment_id=environment.id,
                app_insights_enabled=True,
                egress_public_network_access="Disabled" if self._private else "Enabled",
                scale_settings=aml.DefaultScaleSettingsArgs(scale_type="Default"),
                data_collector=capture,
                description=f"mlfabric {ctx.base_name}: {variant.name} version of {spec.name}",
            ),
            tags=tags,
            # The autoscale setting owns the instance count once the deployment exists.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["sku.capacity"]),
        )
        self._autoscale(f"{logical}-{variant.name}", endpoint, deployment, spec, variant)
        return deployment

    def _autoscale(
        self,
        logical: str,
        endpoint: aml.OnlineEndpoint,
        deployment: aml.OnlineDeployment,
        spec: EndpointSpec,
        variant: _Variant,
    ) -> monitor.AutoscaleSetting:
        target = float(spec.target_invocations_per_replica)

        def rule(
            direction: monitor.ScaleDirection, operator: monitor.ComparisonOperationType, threshold: float, cooldown: str
        ) -> monitor.ScaleRuleArgs:
            return monitor.ScaleRuleArgs(
                metric_trigger=monitor.MetricTriggerArgs(
                    metric_name="RequestsPerMinute",
                    metric_namespace=ENDPOINT_METRICS,
                    metric_resource_uri=endpoint.id,
                    dimensions=[
                        monitor.ScaleRuleMetricDimensionArgs(
                            dimension_name="deployment", operator="Equals", values=[variant.name]
                        )
                    ],
                    # Requests per minute per instance of this deployment.
                    divide_per_instance=True,
                    statistic=monitor.MetricStatisticType.AVERAGE,
                    time_aggregation=monitor.TimeAggregationType.AVERAGE,
                    time_grain="PT1M",
                    time_window="PT5M",
                    operator=operator,
                    threshold=threshold,
                ),
                scale_action=monitor.ScaleActionArgs(
                    direction=direction, type=monitor.ScaleType.CHANGE_COUNT, value="1", cooldown=cooldown
                ),
            )

        return monitor.AutoscaleSetting(
            logical,
            autoscale_setting_name=f"{endpoint_name(self._ctx.base_name, spec.name)}-{variant.name}",
            resource_group_name=self._group,
            location=self._ctx.region,
            target_resource_uri=deployment.id,
            enabled=True,
            profiles=[
                monitor.AutoscaleProfileArgs(
                    name="requests-per-instance",
                    capacity=monitor.ScaleCapacityArgs(
                        minimum=str(spec.min_replicas), maximum=str(spec.max_replicas), default=str(spec.min_replicas)
                    ),
                    # Scale out fast, scale in slowly: new instances take minutes to serve.
                    rules=[
                        rule(monitor.ScaleDirection.INCREASE, monitor.ComparisonOperationType.GREATER_THAN, target, "PT1M"),
                        rule(
                            monitor.ScaleDirection.DECREASE,
                            monitor.ComparisonOperationType.LESS_THAN,
                            round(target * _SCALE_IN_FRACTION, 2),
                            "PT5M",
                        ),
                    ],
                )
            ],
            tags=self._ctx.tags({"mlfabric-endpoint": spec.name, "mlfabric-variant": variant.name}),
            opts=self._child,
        )

    def _alerts(self, logical: str, physical: str, endpoint: aml.OnlineEndpoint, spec: EndpointSpec) -> None:
        m = self._monitoring
        actions = [monitor.MetricAlertActionArgs(action_group_id=self._alerts_to)] if self._alerts_to is not None else []

        def alert(suffix: str, description: str, severity: int, criterion: monitor.MetricCriteriaArgs) -> None:
            monitor.MetricAlert(
                f"{logical}-{suffix}",
                rule_name=f"{physical}-{suffix}",
                resource_group_name=self._group,
                location="global",
                description=description,
                severity=severity,
                enabled=True,
                scopes=[endpoint.id],
                evaluation_frequency="PT1M",
                window_size="PT5M",
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", all_of=[criterion]
                ),
                auto_mitigate=True,
                actions=actions,
                tags=self._ctx.tags({"mlfabric-endpoint": spec.name}),
                opts=self._child,
            )

        alert(
            "latency-p99",
            f"{physical}: p99 request latency above {m.latency_p99_ms} ms for 5 minutes",
            2,
            monitor.MetricCriteriaArgs(
                criterion_type="StaticThresholdCriterion",
                name="LatencyP99",
                metric_namespace=ENDPOINT_METRICS,
                metric_name="RequestLatency_P99",
                operator="GreaterThan",
                threshold=float(m.latency_p99_ms),
                time_aggregation="Average",
            ),
        )
        threshold = error_threshold_per_minute(spec, m)
        alert(
            "errors-5xx",
            f"{physical}: server errors (5xx) above {m.error_rate_percent}% of the nominal load "
            f"({threshold:g} per minute) for 5 minutes",
            1,
            monitor.MetricCriteriaArgs(
                criterion_type="StaticThresholdCriterion",
                name="ServerErrors",
                metric_namespace=ENDPOINT_METRICS,
                metric_name="RequestsPerMinute",
                dimensions=[monitor.MetricDimensionArgs(name="statusCodeClass", operator="Include", values=["5xx"])],
                operator="GreaterThan",
                threshold=threshold,
                time_aggregation="Average",
            ),
        )


def _traffic_template(
    workspace: str,
    endpoint: str,
    region: str,
    tags: dict[str, str],
    auth: str,
    network_access: str,
    description: str,
    live: dict[str, int],
    mirror: dict[str, int],
) -> dict[str, Any]:
    """An ARM template that writes the endpoint again, as declared, now with its traffic split."""
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
                "apiVersion": ENDPOINT_API_VERSION,
                "name": f"{workspace}/{endpoint}",
                "location": region,
                "tags": tags,
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "authMode": auth,
                    "publicNetworkAccess": network_access,
                    "description": description,
                    "traffic": live,
                    "mirrorTraffic": mirror,
                },
            }
        ],
    }
