"""Serving on AWS: autoscaled SageMaker real-time endpoints with guarded blue/green rollouts.

Creates, with a network, one ``aws:ec2/securityGroup:SecurityGroup`` the endpoints' ENIs use (no
ingress: invocations arrive through the SageMaker runtime, not the VPC; HTTPS egress only, for
image and artifact pulls). Per spec endpoint:

- an execution ``aws:iam/role:Role`` SageMaker assumes, with one inline policy scoped to this
  endpoint's image repositories, its data-capture prefix in the artifacts bucket, the platform's
  storage key, its own log group and (with a network) ENIs in the platform VPC;
- an ``aws:sagemaker/model:Model`` per version: ``main``, plus ``challenger`` (A/B) and ``shadow``
  when ``traffic`` asks, each network-isolated and attached to the private subnets;
- an ``aws:sagemaker/endpointConfiguration:EndpointConfiguration``: production variants weighted by
  the A/B split, the shadow variant, data capture to ``s3://<artifacts>/data-capture/<endpoint>/``
  encrypted with the storage key, and the storage key on the instance volumes where the instance
  type allows it (SageMaker rejects a volume key on instance types with local NVMe storage, whose
  volumes are hardware-encrypted: every GPU type in the catalogue);
- ``aws:cloudwatch/metricAlarm:MetricAlarm``: per production variant p99 ``ModelLatency``
  (microseconds), 5XX and 4XX error rate in percent; per endpoint invocations dropping to zero; all
  notify ``ctx.monitoring.alert_topic``;
- the ``aws:sagemaker/endpoint:Endpoint`` (named ``<platform>-<environment>-<endpoint>``, a stable
  URL) with a blue/green update policy (CANARY, LINEAR or ALL_AT_ONCE, baking ``bake_minutes`` per
  step) that rolls back automatically on the variant alarms;
- per variant an ``aws:appautoscaling/target:Target`` between ``min_replicas`` and
  ``max_replicas`` and an ``aws:appautoscaling/policy:Policy`` tracking invocations per instance.

With ``monitoring.drift`` (and data capture), the endpoint's data-quality monitoring (``drift.py``):
a monitoring role, job definition, schedule and the EventBridge rule that routes violations to the
alert topic.

Alarm thresholds (``latency_p99_ms``, ``error_rate_percent``) live in the spec's ``monitoring``
section (``ctx.monitoring_spec``). The endpoint and its models carry the ``mlfabric-model`` tag: the
registry model (model package group) the endpoint serves.

An endpoint renamed in the spec (``endpoints[].renamed_from``) keeps every resource above through
aliases and every physical name (endpoint, role, alarms, scaling policy, data-capture prefix) from
its first name, so its URL does not change. What SageMaker would refuse (a shadow beside a
challenger, bakes over an hour, deployments over 8 hours, unknown instance types, data capture
without the artifacts bucket) the spec refuses first (``spec_rules.py``).

Models and endpoint configurations are immutable in SageMaker and keep provider-assigned unique
names: a change creates new ones and updates the endpoint in place, which is what starts a guarded
blue/green deployment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

import pulumi
import pulumi_aws as aws

from mlfabric.components import catalog
from mlfabric.components.aws.common import (
    caller_account,
    dict_output,
    ecr_repository_arn,
    endpoint_name,
    policy_document,
    renamed,
    trust_policy,
)
from mlfabric.components.aws.drift import declare_drift
from mlfabric.components.aws.spec_rules import deployment_seconds, endpoint_instance
from mlfabric.components.concerns import ServingOutputs, image_url
from mlfabric.components.context import PlatformContext
from mlfabric.components.naming import original_name
from mlfabric.components.spec import EndpointSpec, ServingSpec

# What an endpoint runs on when the spec names neither an instance type nor an accelerator.
DEFAULT_CPU_INSTANCE: Final = "ml.m5.xlarge"
ARTIFACTS_BUCKET: Final = "artifacts"
SAGEMAKER: Final = "AWS/SageMaker"
_ROUTING: Final[dict[str, str]] = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
# Instance families with local NVMe instance storage besides the "d" families (m5d, g4dn, p4d...).
_LOCAL_STORAGE_FAMILIES: Final = frozenset({"g5", "g6", "g6e", "gr6", "p5", "p5e", "p5en", "trn1", "trn1n", "trn2"})
_D_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")
_ALARM_PERIOD: Final = 60


def endpoint_url(region: str, name: str) -> str:
    return f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{name}/invocations"


def instance_type(endpoint: EndpointSpec) -> str:
    """The SageMaker instance type: as given, from the catalogue's 1-GPU shape, or the CPU default."""
    if endpoint.instance is not None:
        return endpoint_instance(endpoint.instance)
    if endpoint.accelerator is not None:
        return "ml." + catalog.gpu_shape("aws", endpoint.accelerator).machine
    return DEFAULT_CPU_INSTANCE


def has_local_storage(instance: str) -> bool:
    """Whether an instance type carries NVMe instance storage (then SageMaker refuses a volume key)."""
    family = instance.removeprefix("ml.").split(".")[0]
    return family in _LOCAL_STORAGE_FAMILIES or _D_FAMILY.match(family) is not None


_VariantName = Literal["main", "challenger", "shadow"]


@dataclass(frozen=True)
class _Variant:
    """One model version behind an endpoint."""

    name: _VariantName
    image: str
    weight: float

    @property
    def production(self) -> bool:
        return self.name != "shadow"


def _variants(endpoint: EndpointSpec) -> list[_Variant]:
    traffic = endpoint.traffic
    challenger = traffic.challenger.percent if traffic.challenger else 0
    variants = [_Variant("main", endpoint.image, float(100 - challenger))]
    if traffic.challenger is not None:
        variants.append(_Variant("challenger", traffic.challenger.image, float(challenger)))
    if traffic.shadow is not None:
        # A shadow's weight is relative to the production variant's: 100 vs percent mirrors percent%.
        variants.append(_Variant("shadow", traffic.shadow.image, float(traffic.shadow.percent)))
    return variants


def _bucket(outputs: pulumi.Output[dict[str, str]], bucket: str) -> pulumi.Output[str]:
    def pick(values: dict[str, str]) -> str:
        # The spec refuses data capture without this bucket (spec_rules): an internal invariant here.
        assert bucket in values, f"no {bucket!r} bucket for data capture (spec_rules should have refused it)"
        return values[bucket]

    return outputs.apply(pick)


def _execution_policy(region: str, physical: str, args: list[Any]) -> dict[str, Any]:
    """The inline policy of endpoint ``physical``'s execution role, from the resolved
    (account, partition, storage key, artifacts bucket or None, VPC id or None, *image URLs)."""
    account, partition, key_arn, artifacts_arn, vpc_id, *urls = args
    repositories = sorted({arn for url in urls if (arn := ecr_repository_arn(url, partition))})
    log_group = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{physical}"
    vpc_arn = f"arn:{partition}:ec2:{region}:{account}:vpc/{vpc_id}" if vpc_id is not None else None
    return policy_document(
        [
            {
                "Sid": "WriteEndpointLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                           "logs:DescribeLogStreams"],
                "Resource": [log_group, f"{log_group}:*"],
            },
            *_pull_statements(repositories),
            *_capture_statements(artifacts_arn, physical, key_arn),
            *_eni_statements(vpc_arn),
        ]
    )


def _pull_statements(repositories: list[str]) -> list[dict[str, Any]]:
    if not repositories:
        return []
    return [
        {
            "Sid": "PullServingImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            "Resource": repositories,
        },
        # GetAuthorizationToken has no resource-level permissions.
        {"Sid": "LogInToEcr", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    ]


def _capture_statements(artifacts_arn: str | None, physical: str, key_arn: str) -> list[dict[str, Any]]:
    if artifacts_arn is None:
        return []
    return [
        {
            "Sid": "CaptureRequestsAndResponses",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"{artifacts_arn}/data-capture/{physical}/*",
        },
        {
            "Sid": "EncryptCapturedDataWithThePlatformKey",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key_arn,
        },
    ]


def _eni_statements(vpc_arn: str | None) -> list[dict[str, Any]]:
    if vpc_arn is None:
        return []
    return [
        {
            "Sid": "ManageEnisInThePlatformVpc",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                       "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"ec2:Vpc": vpc_arn}},
        },
        # EC2 Describe* calls have no resource-level permissions.
        {
            "Sid": "DescribeNetwork",
            "Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                       "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
            "Resource": "*",
        },
    ]


class AwsServing(ServingOutputs):
    """SageMaker endpoints: A/B and shadow variants, data capture, alarms, canary rollouts, autoscaling."""

    type_token = "mlfabric:serving:AwsServing"
    needs = ("network", "storage", "registry", "monitoring")

    def __init__(
        self,
        name: str,
        spec: ServingSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # What SageMaker would refuse, the spec refuses first (spec_rules.py); the platform always
        # builds storage before serving.
        assert ctx.storage is not None, "AwsServing needs ctx.storage: build the storage concern first"
        super().__init__(name, spec, ctx, opts)
        self._monitoring = ctx.monitoring_spec
        self._storage = ctx.storage
        self._account, self._partition = caller_account(self)
        self._security_group = self._create_security_group()
        # (logical name, spec name, previous names) of the endpoint being built, for ``_opts``
        self._renaming: tuple[str, str, list[str]] = ("", "", [])

        endpoints = {e.name: self._endpoint(e) for e in spec.endpoints}

        self.endpoint_names = dict_output({k: e.name for k, e in endpoints.items()})
        self.endpoint_urls = self.endpoint_names.apply(
            lambda names: {k: endpoint_url(ctx.region, v) for k, v in names.items()}
        )
        self.register_contract()

    # --- shared -------------------------------------------------------------------------------

    def _create_security_group(self) -> aws.ec2.SecurityGroup | None:
        if self._ctx.network is None:
            return None
        return aws.ec2.SecurityGroup(
            f"{self._name}-serving",
            name=f"{self._ctx.base_name}-serving",
            description=f"mlfabric {self._ctx.base_name}: SageMaker endpoint ENIs (no ingress, HTTPS egress)",
            vpc_id=self._ctx.network.network_id,
            # Egress to any address: S3 (gateway endpoint) and ECR are reached on public ranges
            # unless interface endpoints exist; only HTTPS.
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    description="HTTPS to S3, ECR and AWS APIs",
                    protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"],
                )
            ],
            tags=self._ctx.tags({"Name": f"{self._ctx.base_name}-serving"}),
            opts=self._child,
        )

    # --- per endpoint -------------------------------------------------------------------------

    def _opts(self, resource_name: str) -> pulumi.ResourceOptions:
        """Options of a child of the endpoint being built: parented here, with the aliases that keep
        its identity when the endpoint was renamed (``renamed_from``)."""
        logical, name, previous = self._renaming
        assert resource_name.startswith(logical), (resource_name, logical)
        return renamed(logical, name, previous, self._child, suffix=resource_name[len(logical):])

    def _endpoint(self, spec: EndpointSpec) -> aws.sagemaker.Endpoint:
        ctx = self._ctx
        logical = f"{self._name}-{spec.name}"
        self._renaming = (logical, spec.name, spec.renamed_from)
        # A renamed endpoint keeps its resources (aliases) and its physical names (the first name):
        # the endpoint's URL, its alarms and its execution role do not change.
        physical = endpoint_name(ctx.base_name, original_name(spec.name, spec.renamed_from))
        variants = _variants(spec)
        images = {v.name: image_url(v.image, self._ctx.registry) for v in variants}
        capture = spec.data_capture_percent > 0
        role = self._execution_role(logical, physical, list(images.values()), capture)
        models = {
            v.name: aws.sagemaker.Model(
                f"{logical}-{v.name}",
                execution_role_arn=role.arn,
                primary_container=aws.sagemaker.ModelPrimaryContainerArgs(image=images[v.name]),
                # The serving image carries the model: the container needs no network of its own.
                enable_network_isolation=True,
                vpc_config=self._vpc_config(),
                # the registry model it serves (its model package group), for cost and audit reports
                tags=ctx.tags({"mlfabric-endpoint": spec.name, "mlfabric-variant": v.name, "mlfabric-model": spec.model}),
                opts=self._opts(f"{logical}-{v.name}"),
            )
            for v in variants
        }
        config = self._configuration(logical, spec, variants, models, capture)

        rollback_alarms = [
            alarm
            for v in variants
            if v.production
            for alarm in self._variant_alarms(logical, physical, v.name)
        ]
        self._invocations_alarm(logical, physical)
        endpoint = aws.sagemaker.Endpoint(
            logical,
            name=physical,
            endpoint_config_name=config.name,
            deployment_config=aws.sagemaker.EndpointDeploymentConfigArgs(
                blue_green_update_policy=self._blue_green(spec),
                auto_rollback_configuration=aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationArgs(
                    alarms=[
                        aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationAlarmArgs(alarm_name=a.name)
                        for a in rollback_alarms
                    ]
                ),
            ),
            tags=ctx.tags({"mlfabric-endpoint": spec.name, "mlfabric-model": spec.model}),
            opts=self._opts(logical),
        )
        for v in variants:
            self._autoscaling(f"{logical}-{v.name}", endpoint, v.name, spec)
        if spec.monitoring.drift is not None and capture:
            declare_drift(self, ctx, logical, physical, spec.monitoring.drift, endpoint, self._security_group, self._opts)
        return endpoint

    def _configuration(
        self,
        logical: str,
        spec: EndpointSpec,
        variants: list[_Variant],
        models: dict[_VariantName, aws.sagemaker.Model],
        capture: bool,
    ) -> aws.sagemaker.EndpointConfiguration:
        instance = instance_type(spec)

        def fields(v: _Variant) -> dict[str, Any]:
            # Same variant names on every config: SageMaker's blue/green update requires it.
            return {
                "variant_name": v.name,
                "model_name": models[v.name].name,
                "instance_type": instance,
                "initial_instance_count": spec.min_replicas,
                "initial_variant_weight": v.weight,
            }

        production = [
            aws.sagemaker.EndpointConfigurationProductionVariantArgs(**fields(v)) for v in variants if v.production
        ]
        shadow = [
            aws.sagemaker.EndpointConfigurationShadowProductionVariantArgs(**fields(v))
            for v in variants
            if not v.production
        ]
        return aws.sagemaker.EndpointConfiguration(
            logical,
            production_variants=production,
            shadow_production_variants=shadow or None,
            kms_key_arn=None if has_local_storage(instance) else self._storage.encryption_key_id,
            data_capture_config=self._data_capture(spec) if capture else None,
            tags=self._ctx.tags({"mlfabric-endpoint": spec.name}),
            opts=self._opts(logical),
        )

    def _execution_role(
        self, logical: str, physical: str, images: list[pulumi.Output[str]], capture: bool
    ) -> aws.iam.Role:
        ctx = self._ctx
        artifacts = _bucket(self._storage.bucket_ids, ARTIFACTS_BUCKET) if capture else None
        network_id = ctx.network.network_id if ctx.network is not None else None

        policy = pulumi.Output.all(
            self._account, self._partition, self._storage.encryption_key_id, artifacts, network_id, *images
        ).apply(lambda args: _execution_policy(ctx.region, physical, args))
        return aws.iam.Role(
            f"{logical}-execution",
            name=f"{physical}-serving",
            description=f"mlfabric {ctx.base_name}: SageMaker execution role of endpoint {physical}",
            assume_role_policy=pulumi.Output.json_dumps(trust_policy({"Service": "sagemaker.amazonaws.com"})),
            inline_policies=[aws.iam.RoleInlinePolicyArgs(name="serving", policy=pulumi.Output.json_dumps(policy))],
            tags=ctx.tags(),
            opts=self._opts(f"{logical}-execution"),
        )

    def _vpc_config(self) -> aws.sagemaker.ModelVpcConfigArgs | None:
        if self._ctx.network is None or self._security_group is None:
            return None
        return aws.sagemaker.ModelVpcConfigArgs(
            subnets=self._ctx.network.private_subnet_ids,
            security_group_ids=[self._security_group.id],
        )

    def _data_capture(self, spec: EndpointSpec) -> aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs:
        bucket = _bucket(self._storage.bucket_names, ARTIFACTS_BUCKET)
        physical = endpoint_name(self._ctx.base_name, original_name(spec.name, spec.renamed_from))
        return aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
            enable_capture=True,
            initial_sampling_percentage=spec.data_capture_percent,
            destination_s3_uri=bucket.apply(lambda b: f"s3://{b}/data-capture/{physical}"),
            kms_key_id=self._storage.encryption_key_id,
            capture_options=[
                aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Input"),
                aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Output"),
            ],
        )

    def _blue_green(self, spec: EndpointSpec) -> aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgs:
        traffic = spec.traffic
        routing = _ROUTING[traffic.strategy]
        bake = traffic.bake_minutes * 60
        return aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgs(
            traffic_routing_configuration=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgs(
                type=routing,
                wait_interval_in_seconds=bake,
                canary_size=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationCanarySizeArgs(
                    type="CAPACITY_PERCENT", value=traffic.canary_percent)
                if routing == "CANARY" else None,
                linear_step_size=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationLinearStepSizeArgs(
                    type="CAPACITY_PERCENT", value=traffic.canary_percent)
                if routing == "LINEAR" else None,
            ),
            # Keep the old (blue) fleet for one more bake after the full shift, so a late alarm still rolls back.
            termination_wait_in_seconds=bake,
            maximum_execution_timeout_in_seconds=deployment_seconds(spec),
        )

    def _alarm(self, logical: str, physical: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        topic = self._ctx.monitoring.alert_topic if self._ctx.monitoring is not None else None
        actions = [topic] if topic is not None else []
        return aws.cloudwatch.MetricAlarm(
            logical,
            name=physical,
            alarm_actions=actions,
            ok_actions=actions,
            tags=self._ctx.tags(),
            opts=self._opts(logical),
            **kwargs,
        )

    def _variant_alarms(self, logical: str, endpoint: str, variant: str) -> list[aws.cloudwatch.MetricAlarm]:
        """p99 latency and 5XX/4XX error-rate alarms of one production variant: the rollback signals."""
        dimensions = {"EndpointName": endpoint, "VariantName": variant}
        # 3 bad minutes out of 5: quick enough to stop a canary within its bake time, not a single blip.
        window = {"period": _ALARM_PERIOD, "evaluation_periods": 5, "datapoints_to_alarm": 3,
                  "treat_missing_data": "notBreaching"}
        spec = self._monitoring
        latency = self._alarm(
            f"{logical}-{variant}-p99-latency",
            f"{endpoint}-{variant}-p99-latency",
            alarm_description=f"p99 model latency of {endpoint}/{variant} above {spec.latency_p99_ms} ms",
            namespace=SAGEMAKER,
            metric_name="ModelLatency",
            dimensions=dimensions,
            extended_statistic="p99",
            # SageMaker reports ModelLatency in microseconds.
            threshold=spec.latency_p99_ms * 1000,
            comparison_operator="GreaterThanThreshold",
            **window,
        )
        errors = [
            self._alarm(
                f"{logical}-{variant}-{kind.lower()}-rate",
                f"{endpoint}-{variant}-{kind.lower()}-rate",
                alarm_description=f"{kind} responses of {endpoint}/{variant} above {spec.error_rate_percent}% "
                "of invocations",
                metric_queries=[
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="errors",
                        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                            namespace=SAGEMAKER, metric_name=f"Invocation{kind}Errors", dimensions=dimensions,
                            stat="Sum", period=_ALARM_PERIOD,
                        ),
                    ),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="invocations",
                        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                            namespace=SAGEMAKER, metric_name="Invocations", dimensions=dimensions,
                            stat="Sum", period=_ALARM_PERIOD,
                        ),
                    ),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="rate", expression="100 * errors / invocations", label=f"{kind} rate (%)", return_data=True
                    ),
                ],
                threshold=spec.error_rate_percent,
                comparison_operator="GreaterThanThreshold",
                evaluation_periods=window["evaluation_periods"],
                datapoints_to_alarm=window["datapoints_to_alarm"],
                treat_missing_data="notBreaching",
            )
            for kind in ("5XX", "4XX")
        ]
        return [latency, *errors]

    def _invocations_alarm(self, logical: str, endpoint: str) -> aws.cloudwatch.MetricAlarm:
        # Not a rollback signal: a quiet endpoint would otherwise roll back every deployment.
        return self._alarm(
            f"{logical}-no-invocations",
            f"{endpoint}-no-invocations",
            alarm_description=f"{endpoint} received no invocations for 15 minutes",
            namespace=SAGEMAKER,
            metric_name="Invocations",
            dimensions={"EndpointName": endpoint, "VariantName": "main"},
            statistic="Sum",
            period=300,
            evaluation_periods=3,
            threshold=1,
            comparison_operator="LessThanThreshold",
            # SageMaker publishes no datapoint at all for an endpoint nobody calls.
            treat_missing_data="breaching",
        )

    def _autoscaling(
        self, logical: str, endpoint: aws.sagemaker.Endpoint, variant: str, spec: EndpointSpec
    ) -> aws.appautoscaling.Policy:
        child = self._opts(logical)
        target = aws.appautoscaling.Target(
            logical,
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=endpoint.name.apply(lambda n: f"endpoint/{n}/variant/{variant}"),
            min_capacity=spec.min_replicas,
            max_capacity=spec.max_replicas,
            tags=self._ctx.tags(),
            opts=child,
        )
        return aws.appautoscaling.Policy(
            logical,
            name=f"{endpoint_name(self._ctx.base_name, original_name(spec.name, spec.renamed_from))}-{variant}-invocations",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=float(spec.target_invocations_per_replica),
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance",
                ),
                # Scale out fast, scale in slowly: new instances take minutes to serve.
                scale_out_cooldown=60,
                scale_in_cooldown=300,
            ),
            opts=child,
        )
