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
- the endpoint's rollout (``mlfabric.components.azure.rollout``): a ``resources:AzureCliScript`` (an
  Azure deployment script, which ``pulumi up`` waits for) that shifts live traffic to ``main``
  100 - challenger percent and ``challenger`` its percent, and mirrors the ``shadow`` percent, in the
  steps of ``traffic.strategy`` (``all-at-once``; ``canary``: ``canary_percent`` then all; ``linear``:
  ``canary_percent`` more per step), baking ``bake_minutes`` after each step and putting the previous
  split back (and failing) when one of the endpoint's alerts fires; its
  ``managedidentity:UserAssignedIdentity`` and two ``authorization:RoleAssignment`` s on the endpoint
  only (AzureML Data Scientist to write its traffic, Monitoring Reader to read its alerts). The script
  reruns whenever the split, the strategy or a deployment changes. Azure ML refuses traffic for
  deployments that do not exist yet, and a deployment cannot exist before its endpoint: the typed
  endpoint is created without traffic and the script sets it;
- two ``monitor:MetricAlert`` s sent to ``ctx.monitoring.alert_topic`` (the action group): p99
  request latency above ``monitoring.latency_p99_ms``, and 5xx responses per minute above
  ``monitoring.error_rate_percent`` of the endpoint's nominal load (``min_replicas`` x
  ``target_invocations_per_replica``): Azure metric alerts cannot divide one metric by another.

- with ``monitoring.drift``: the endpoint's drift monitor (``mlfabric.components.azure.drift``), an Azure
  ML model-monitoring ``machinelearningservices:Schedule`` over the main deployment's captured
  requests, its identity and that identity's two role assignments.

Alert thresholds live in the spec's ``monitoring`` section (``ctx.monitoring_spec``).

Blue/green: each version's deployment is named after its image (``main-<hash>``), so a new image is a
new deployment beside the serving one; the rollout script moves traffic to it, and Pulumi deletes the
previous deployment at the end of the update, once the shift has baked clean (see ``rollout``).
A renamed endpoint (``renamed_from``) keeps its physical names (from its first name) and every child
carries an alias to its previous URN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import pulumi
from pulumi_azure_native import authorization, managedidentity, monitor, resources
from pulumi_azure_native import machinelearningservices as aml

from mlfabric.components import catalog, naming
from mlfabric.components.azure import rollout
from mlfabric.components.azure.common import (
    HasPrivateLinks,
    WorkspaceHandles,
    WorkspaceScopes,
    output_mapping,
    role_definition_id,
    storage_account_id,
)
from mlfabric.components.azure.drift import DriftTarget, drift_schedule
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.concerns import ServingOutputs, image_url
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import EndpointSpec, MonitoringSpec, ServingSpec

# What an endpoint runs on when the spec names neither an instance type nor an accelerator.
DEFAULT_CPU_INSTANCE: Final = "Standard_DS3_v2"
ENDPOINT_METRICS: Final = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
# The port and routes of Azure ML's inference server (azureml-inference-server-http), which serving
# images are expected to run.
INFERENCE_PORT: Final = 5001
HEALTH_ROUTE: Final = "/"
SCORING_ROUTE: Final = "/score"
# Built-in roles of the rollout script's identity, on the endpoint only: write its traffic, read its alerts.
ML_DATA_SCIENTIST: Final = "f6c7c914-8db3-469d-8ca1-694a8461e5f0"
MONITORING_READER: Final = "43d0d8ad-25c7-4714-9337-8ba259a9fe05"
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

    @property
    def deployment(self) -> str:
        """The Azure ML deployment running this version's image (a new image is a new deployment)."""
        return rollout.deployment_name(self.name, self.image)


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
    live: dict[str, int] = {v.deployment: v.percent for v in variants(endpoint) if v.name != "shadow"}
    mirror: dict[str, int] = {v.deployment: v.percent for v in variants(endpoint) if v.name == "shadow"}
    return live, mirror


class AzureServing(ServingOutputs):
    """Azure ML managed online endpoints: A/B and shadow deployments, autoscaling, alerts."""

    type_token = "mlfabric:serving:AzureServing"
    needs = ("network", "storage", "registry", "monitoring")

    def __init__(
        self,
        name: str,
        spec: ServingSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Azure ML's limits (a shadow mirrors at most 50 %, a rollout fits one script run) are spec
        # rules (components/azure/spec_rules.py): validate refuses them before anything is declared.
        if not isinstance(ctx.registry, WorkspaceHandles):
            raise pulumi.RunError("serving: Azure ML endpoints live in the platform's ML workspace (registry concern)")
        super().__init__(name, spec, ctx, opts)
        self._monitoring: MonitoringSpec = ctx.monitoring_spec
        self._registry: WorkspaceHandles = ctx.registry
        self._group: pulumi.Output[str] = prerequisites_of(ctx).resource_group_name
        self._private: bool = isinstance(ctx.network, HasPrivateLinks) and ctx.network.private_links is not None
        self._alerts_to: pulumi.Output[str] | None = ctx.monitoring.alert_topic if ctx.monitoring is not None else None
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._subscription: pulumi.Output[str] = client.subscription_id

        endpoints = {e.name: self._endpoint(e) for e in spec.endpoints}

        self.endpoint_names = output_mapping({k: e.name for k, e in endpoints.items()})
        self.endpoint_urls = output_mapping(
            {k: e.properties.apply(lambda p: p.scoring_uri or "") for k, e in endpoints.items()}
        )
        self.register_contract()

    # --- per endpoint -------------------------------------------------------------------------

    def _opts(self, spec: EndpointSpec, suffix: str = "", **kwargs: object) -> pulumi.ResourceOptions:
        """Options of a child named ``<name>-<endpoint><suffix>``: parented here, with an alias to the
        name it had under each of the endpoint's previous names (``renamed_from``)."""
        aliases = [
            pulumi.Alias(name=f"{alias.name}{suffix}")
            for alias in naming.rename_aliases(f"{self._name}-{spec.name}", spec.name, spec.renamed_from)
        ]
        return pulumi.ResourceOptions(parent=self, aliases=list(aliases) or None, **kwargs)  # type: ignore[arg-type]

    def _endpoint(self, spec: EndpointSpec) -> aml.OnlineEndpoint:
        ctx = self._ctx
        logical = f"{self._name}-{spec.name}"
        # Physical names keep deriving from the endpoint's first name: renaming keeps its scoring URL.
        physical = endpoint_name(ctx.base_name, naming.original_name(spec.name, spec.renamed_from))
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
            # The rollout script owns the split; the endpoint resource never sets it.
            opts=self._opts(spec, ignore_changes=["properties.traffic", "properties.mirrorTraffic"]),
        )
        deployments = [self._deployment(logical, physical, endpoint, spec, v) for v in variants(spec)]
        alerts = self._alerts(logical, physical, endpoint, spec)
        self._rollout(logical, physical, endpoint, spec, [*deployments, *alerts], [a.id for a in alerts])
        if spec.monitoring.drift is not None:
            self._drift(logical, physical, spec)
        return endpoint

    def _drift(self, logical: str, physical: str, spec: EndpointSpec) -> None:
        """The drift monitor of the main deployment's captured requests (``drift``)."""
        storage, drift = self._ctx.storage, spec.monitoring.drift
        # The spec rules make drift need data capture, and storage and the workspace exist with serving.
        if drift is None or storage is None or not isinstance(self._registry, WorkspaceScopes):
            raise pulumi.RunError(f"serving: the drift monitor of {spec.name} needs storage and the ML workspace")
        main = variants(spec)[0]
        target = DriftTarget(logical, physical, spec.name, main.deployment, self._registry.ml_workspace_name)
        scopes = (self._subscription, storage.bucket_ids.apply(storage_account_id), self._registry.ml_workspace_id)
        datasets = storage.bucket_urls.apply(lambda urls: urls["datasets"])
        drift_schedule(target, self._ctx, drift, scopes, datasets, lambda suffix: self._opts(spec, suffix))

    def _rollout(
        self,
        logical: str,
        physical: str,
        endpoint: aml.OnlineEndpoint,
        spec: EndpointSpec,
        after: list[pulumi.Resource],
        alert_ids: list[pulumi.Output[str]],
    ) -> resources.AzureCliScript:
        """The deployment script that shifts the endpoint's traffic (see ``rollout``), its identity and
        that identity's two roles on the endpoint."""
        ctx = self._ctx
        tags = ctx.tags({"mlfabric-endpoint": spec.name})
        identity = managedidentity.UserAssignedIdentity(
            f"{logical}-rollout",
            resource_name_=f"id-{physical}-rollout",
            resource_group_name=self._group,
            location=ctx.region,
            tags=tags,
            opts=self._opts(spec, "-rollout"),
        )
        grants = [
            authorization.RoleAssignment(
                f"{logical}-rollout-{slug}",
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                role_definition_id=role_definition_id(self._subscription, guid),
                scope=endpoint.id,
                description=f"mlfabric {ctx.base_name}: the rollout of {spec.name} {why}",
                opts=self._opts(spec, f"-rollout-{slug}"),
            )
            for slug, guid, why in (
                ("traffic", ML_DATA_SCIENTIST, "writes its traffic split"),
                ("alerts", MONITORING_READER, "reads its alerts"),
            )
        ]
        live, mirror = traffic_split(spec)
        traffic = spec.traffic
        env = pulumi.Output.all(endpoint.id, *alert_ids).apply(
            lambda ids: rollout.environment(ids[0], live, mirror, traffic, list(ids[1:]))
        )
        return resources.AzureCliScript(
            f"{logical}-rollout",
            script_name=f"{physical}-rollout",
            resource_group_name=self._group,
            location=ctx.region,
            kind="AzureCLI",
            identity=resources.ManagedServiceIdentityArgs(
                type=resources.ManagedServiceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]
            ),
            az_cli_version=rollout.AZ_CLI_VERSION,
            script_content=rollout.SCRIPT,
            environment_variables=env.apply(
                lambda e: [resources.EnvironmentVariableArgs(name=k, value=v) for k, v in e.items()]
            ),
            # A new split, strategy, step or bake time is a new tag: the script runs again.
            force_update_tag=naming.short_hash(
                repr(sorted(live.items())), repr(sorted(mirror.items())), traffic.strategy,
                str(traffic.canary_percent), str(traffic.bake_minutes), length=12,
            ),
            timeout=rollout.script_timeout(traffic),
            retention_interval="PT1H",
            # Kept after a failure (rollback) for its logs; removed after success.
            cleanup_preference="OnSuccess",
            tags=tags,
            opts=self._opts(spec, "-rollout", depends_on=[*after, *grants]),
        )

    def _deployment(
        self, logical: str, physical: str, endpoint: aml.OnlineEndpoint, spec: EndpointSpec, variant: _Variant
    ) -> aml.OnlineDeployment:
        ctx = self._ctx
        tags = ctx.tags({"mlfabric-endpoint": spec.name, "mlfabric-variant": variant.name})
        # One deployment (and environment, autoscale setting) per image: a new image is created beside
        # the version serving now, which Pulumi deletes once the rollout has moved traffic off it.
        suffix = f"-{variant.deployment}"
        environment = aml.EnvironmentVersion(
            f"{logical}{suffix}",
            name=f"{physical}-{variant.name}",
            version=naming.short_hash(variant.image, length=12),
            workspace_name=self._registry.ml_workspace_name,
            resource_group_name=self._group,
            properties=aml.EnvironmentVersionPropertiesArgs(
                image=image_url(variant.image, self._registry),
                os_type="Linux",
                description=f"mlfabric {ctx.base_name}: {spec.name}/{variant.name} serving image {variant.image}",
                inference_config=aml.InferenceContainerPropertiesArgs(
                    liveness_route=aml.RouteArgs(port=INFERENCE_PORT, path=HEALTH_ROUTE),
                    readiness_route=aml.RouteArgs(port=INFERENCE_PORT, path=HEALTH_ROUTE),
                    scoring_route=aml.RouteArgs(port=INFERENCE_PORT, path=SCORING_ROUTE),
                ),
                tags=tags,
            ),
            opts=self._opts(spec, suffix),
        )
        capture = None
        if spec.data_capture_percent > 0:
            collection = aml.CollectionArgs(data_collection_mode="Enabled", sampling_rate=spec.data_capture_percent / 100)
            capture = aml.DataCollectorArgs(
                collections={"model_inputs": collection, "model_outputs": collection}, rolling_rate="Hour"
            )
        deployment = aml.OnlineDeployment(
            f"{logical}{suffix}",
            deployment_name=variant.deployment,
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
                description=f"mlfabric {ctx.base_name}: {variant.name} version of {spec.name} ({variant.image})",
            ),
            tags=tags,
            # The autoscale setting owns the instance count once the deployment exists.
            opts=self._opts(spec, suffix, ignore_changes=["sku.capacity"]),
        )
        self._autoscale(f"{logical}{suffix}", physical, endpoint, deployment, spec, variant)
        return deployment

    def _autoscale(
        self,
        logical: str,
        physical: str,
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
                            dimension_name="deployment", operator="Equals", values=[variant.deployment]
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
            autoscale_setting_name=f"{physical}-{variant.deployment}",
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
            opts=self._opts(spec, f"-{variant.deployment}"),
        )

    def _alerts(
        self, logical: str, physical: str, endpoint: aml.OnlineEndpoint, spec: EndpointSpec
    ) -> list[monitor.MetricAlert]:
        m = self._monitoring
        actions = [monitor.MetricAlertActionArgs(action_group_id=self._alerts_to)] if self._alerts_to is not None else []

        def alert(
            suffix: str, description: str, severity: int, criterion: monitor.MetricCriteriaArgs
        ) -> monitor.MetricAlert:
            return monitor.MetricAlert(
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
                opts=self._opts(spec, f"-{suffix}"),
            )

        latency = alert(
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
        errors = alert(
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
        return [latency, errors]
