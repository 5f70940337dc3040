"""Drift monitoring of an Azure ML online endpoint's captured requests (``serving.endpoints[].monitoring.drift``).

Declared by serving (``serving.py``) for each endpoint whose spec asks for it, as its children:

- ``managedidentity:UserAssignedIdentity`` ``id-<endpoint>-drift``, the identity the monitoring
  jobs run as, with two ``authorization:RoleAssignment`` s: Storage Blob Data Reader on the platform's
  storage account (the captured requests and the baseline are both in it) and AzureML Data Scientist
  on the workspace (the jobs and their signal results are workspace assets);
- ``machinelearningservices:Schedule`` ``<endpoint>-drift`` whose action creates an Azure ML model
  monitor (``CreateMonitor``): every hour or day (``drift.schedule``) a serverless Spark job compares
  the main deployment's captured ``model_inputs`` (model data collection, ``data_capture_percent``:
  the collector's default path, ``workspaceblobstore/paths/modelDataCollector/<endpoint>/<deployment>/
  model_inputs``) over the last window with the baseline under ``drift.baseline_prefix`` of the
  ``datasets`` container, on all features, with Azure ML's default Jensen-Shannon thresholds
  (numerical and categorical), and e-mails ``monitoring.notify``'s addresses when a threshold is
  crossed.

Alarm routing: an Azure ML monitor notifies by e-mail only (``alertNotificationSettings`` has no
action-group or webhook target in the ARM API), so the schedule e-mails the same addresses the
platform's action group does; the action group's webhooks get no drift alerts (capability table).

What a plan cannot prove: that the baseline's schema matches the captured inputs, that the Spark
job reads both with the identity's roles from inside the workspace's managed network, or that the
e-mails arrive. Those need a real workspace and traffic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import pulumi
from pulumi_azure_native import authorization, managedidentity
from pulumi_azure_native import machinelearningservices as aml

from mlfabric.components.azure.common import role_definition_id
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.azure.rbac import BLOB_READER, ML_DATA_SCIENTIST
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import DriftSpec

# Serverless Spark the monitor runs on: the instance type and runtime of Azure ML's own monitoring
# examples (azure-ai-ml's schedule test configurations, create_monitor.compute: instance_type
# standard_e4s_v3, runtime_version "3.4"; read through code search on 2026-12-01).
SPARK_INSTANCE: Final = "standard_e4s_v3"
SPARK_RUNTIME: Final = "3.4"
# How often the monitor runs, and the window of captured requests each run reads (the same span).
FREQUENCY: Final = {"hourly": ("Hour", "PT1H"), "daily": ("Day", "P1D")}
# Where model data collection writes a deployment's inputs by default (Azure ML's managed online
# deployment YAML reference: data_collector.collections.<name>.data.path defaults to
# azureml://datastores/workspaceblobstore/paths/modelDataCollector/<endpoint>/<deployment>/<collection>).
COLLECTED_INPUTS: Final = "azureml://datastores/workspaceblobstore/paths/modelDataCollector/{endpoint}/{deployment}/model_inputs"
SIGNAL: Final = "data-drift"


def collected_inputs(endpoint: str, deployment: str) -> str:
    """Where the deployment's captured requests (``model_inputs``) are."""
    return COLLECTED_INPUTS.format(endpoint=endpoint, deployment=deployment)


def notify_emails(notify: list[str]) -> list[str]:
    """The e-mail addresses among ``monitoring.notify`` (the rest are webhooks)."""
    return [target for target in notify if not target.startswith("https://")]


@dataclass(frozen=True)
class DriftTarget:
    """The endpoint a drift monitor watches, and where it lives."""

    logical: str            # the endpoint's logical name (children's names derive from it)
    physical: str           # the Azure ML endpoint's name
    endpoint: str           # the spec's endpoint name (tag)
    deployment: str         # the main deployment, whose captured requests are compared
    workspace_name: pulumi.Output[str]


def drift_schedule(
    target: DriftTarget,
    ctx: PlatformContext,
    drift: DriftSpec,
    scopes: tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]],
    baseline_root: pulumi.Output[str],
    opts: Callable[[str], pulumi.ResourceOptions],
) -> aml.Schedule:
    """The endpoint's drift monitor, its identity and that identity's roles (see the module).

    ``scopes`` is (subscription id, storage account id, workspace id); ``baseline_root`` the
    ``datasets`` container's URL; ``opts(suffix)`` the options of the child ``<logical><suffix>``
    (parented on serving, aliased to the endpoint's previous names)."""
    logical, physical = target.logical, target.physical
    subscription, account, workspace = scopes
    group = prerequisites_of(ctx).resource_group_name
    tags = ctx.tags({"mlfabric-endpoint": target.endpoint})
    identity = managedidentity.UserAssignedIdentity(
        f"{logical}-drift",
        resource_name_=f"id-{physical}-drift",
        resource_group_name=group,
        location=ctx.region,
        tags=tags,
        opts=opts("-drift"),
    )
    grants = [
        authorization.RoleAssignment(
            f"{logical}-drift-{role.slug}",
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=role_definition_id(subscription, role.guid),
            scope=scope,
            description=f"mlfabric {ctx.base_name}: the drift monitor of {physical} {why}",
            opts=opts(f"-drift-{role.slug}"),
        )
        for role, scope, why in (
            (BLOB_READER, account, "reads captured requests and the baseline"),
            (ML_DATA_SCIENTIST, workspace, "runs its jobs and writes their results"),
        )
    ]
    frequency, window = FREQUENCY[drift.schedule]
    emails = notify_emails(list(ctx.monitoring_spec.notify))
    signal = aml.DataDriftMonitoringSignalArgs(
        signal_type="DataDrift",
        production_data=aml.RollingInputDataArgs(
            input_data_type="Rolling", job_input_type="uri_folder", uri=collected_inputs(physical, target.deployment),
            data_context="model_inputs", window_size=window, window_offset="P0D",
        ),
        reference_data=aml.FixedInputDataArgs(
            input_data_type="Fixed", job_input_type="uri_folder",
            uri=baseline_root.apply(lambda root: f"{root}/{drift.baseline_prefix}"), data_context="training",
        ),
        features=aml.AllFeaturesArgs(filter_type="AllFeatures"),
        # No threshold values: Azure ML applies its defaults per metric.
        metric_thresholds=[
            aml.NumericalDataDriftMetricThresholdArgs(data_type="Numerical", metric="JensenShannonDistance"),
            aml.CategoricalDataDriftMetricThresholdArgs(data_type="Categorical", metric="JensenShannonDistance"),
        ],
        notification_types=["AmlNotification"] if emails else [],
    )
    return aml.Schedule(
        f"{logical}-drift",
        name=f"{physical}-drift",
        workspace_name=target.workspace_name,
        resource_group_name=group,
        properties=aml.SchedulePropertiesArgs(
            display_name=f"{physical} data drift ({drift.schedule})",
            description=f"mlfabric {ctx.base_name}: drift of {physical}'s captured requests against "
            f"datasets/{drift.baseline_prefix}",
            is_enabled=True,
            trigger=aml.RecurrenceTriggerArgs(trigger_type="Recurrence", frequency=frequency, interval=1),
            action=aml.CreateMonitorActionArgs(
                action_type="CreateMonitor",
                monitor_definition=aml.MonitorDefinitionArgs(
                    compute_configuration=aml.MonitorServerlessSparkComputeArgs(
                        compute_type="ServerlessSpark",
                        instance_type=SPARK_INSTANCE,
                        runtime_version=SPARK_RUNTIME,
                        compute_identity=aml.ManagedComputeIdentityArgs(
                            compute_identity_type="ManagedIdentity",
                            identity=aml.ManagedServiceIdentityArgs(
                                type="UserAssigned", user_assigned_identities=[identity.id]
                            ),
                        ),
                    ),
                    signals={SIGNAL: signal},
                    alert_notification_settings=aml.MonitorNotificationSettingsArgs(
                        email_notification_settings=aml.MonitorEmailNotificationSettingsArgs(emails=emails)
                    )
                    if emails
                    else None,
                ),
            ),
            tags=tags,
        ),
        opts=pulumi.ResourceOptions.merge(opts("-drift"), pulumi.ResourceOptions(depends_on=grants)),
    )
