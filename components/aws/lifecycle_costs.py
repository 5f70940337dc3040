"""Line items of the lifecycle on AWS (SDK-free; part of the cost inventory's ``extra_items``).

- each SageMaker MLflow tracking server: billed per server-hour by size while it exists;
- each Studio user profile: one JupyterLab instance of the domain's default type at full scale, none
  idle (apps stop after ``notebooks.idle_minutes``); the EFS home directories bill per GiB stored
  (not estimated: usage);
- each data-quality monitoring schedule: one processing instance per run, at most the job's
  runtime limit (hourly: 730 runs a month, daily: 30).

``prices.json`` has no rows for these SKUs yet (``sagemaker-mlflow-<size>``,
``sagemaker-studio-<instance>``, ``sagemaker-processing-<instance>``): the items are named as
unpriced rather than guessed.
"""

from __future__ import annotations

from typing import Any, Final

from mlfabric.components import prices
from mlfabric.components.costing import LineItem, PlanView, RecordView, concern_of

MLFLOW: Final = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
DOMAIN: Final = "aws:sagemaker/domain:Domain"
USER_PROFILE: Final = "aws:sagemaker/userProfile:UserProfile"
DATA_QUALITY: Final = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SCHEDULE: Final = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
HOURS_PER_MONTH: Final = 730.0
RUNS_PER_MONTH: Final = {"cron(0 * ? * * *)": HOURS_PER_MONTH, "cron(0 0 ? * * *)": 30.0}
_DEFAULT_STUDIO_INSTANCE: Final = "ml.t3.medium"


def _item(plan: PlanView, record: RecordView, label: str, unit: str, idle: float, full: float, sku: str) -> LineItem:
    price = prices.lookup("aws", "service", sku, plan.spec.region)
    return LineItem(
        concern_of(record), label, unit, idle, full,
        price.usd_per_month if price is not None else None,
        price.source.url if price is not None else "",
        price.source.as_of if price is not None else "",
        note="" if price is not None else f"no {sku} row in prices.json",
        verified=price.verified if price is not None else True,
    )


def _studio_instance(plan: PlanView) -> str:
    for record in plan.of_type(DOMAIN):
        settings: dict[str, Any] = record.inputs.get("defaultUserSettings") or {}
        spec = (settings.get("jupyterLabAppSettings") or {}).get("defaultResourceSpec") or {}
        return str(spec.get("instanceType") or _DEFAULT_STUDIO_INSTANCE)
    return _DEFAULT_STUDIO_INSTANCE


def items(plan: PlanView) -> list[LineItem]:
    """Tracking servers, notebook instances and monitoring runs of the plan."""
    found = [
        _item(plan, r, f"MLflow tracking server {r.name}", "server", 1.0, 1.0,
              f"sagemaker-mlflow-{str(r.inputs.get('trackingServerSize') or 'Small').lower()}")
        for r in plan.of_type(MLFLOW)
    ]
    instance = _studio_instance(plan)
    found += [
        _item(plan, r, f"Studio JupyterLab {r.name} ({instance})", "instance", 0.0, 1.0, f"sagemaker-studio-{instance}")
        # by name: profiles register concurrently, and an estimate must read the same every time
        for r in sorted(plan.of_type(USER_PROFILE), key=lambda r: r.name)
    ]
    definitions = {str(r.inputs.get("name")): r.inputs for r in plan.of_type(DATA_QUALITY)}
    for record in sorted(plan.of_type(SCHEDULE), key=lambda r: r.name):
        config = record.inputs.get("monitoringScheduleConfig") or {}
        definition = definitions.get(str(config.get("monitoringJobDefinitionName"))) or {}
        cluster = (definition.get("jobResources") or {}).get("clusterConfig") or {}
        runtime = float((definition.get("stoppingCondition") or {}).get("maxRuntimeInSeconds") or 3600) / 3600
        runs = RUNS_PER_MONTH.get(str((config.get("scheduleConfig") or {}).get("scheduleExpression")), HOURS_PER_MONTH)
        hours = runs * runtime * float(cluster.get("instanceCount") or 1)
        # A run always happens, busy or idle: the ceiling (runtime limit) both ways.
        found.append(_item(plan, record, f"Model Monitor runs {record.name}", "instance-hour", hours, hours,
                           f"sagemaker-processing-{cluster.get('instanceType') or 'unknown'}"))
    return found
