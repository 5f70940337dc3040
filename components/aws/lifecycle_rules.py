"""What the lifecycle sections must satisfy on AWS only (SDK-free; part of ``spec_rules``):

- tracking: SageMaker MLflow keeps its artifacts in the ``artifacts`` bucket;
- notebooks: the Studio domain needs the platform VPC (built with ``training`` or ``serving``);
  Studio's idle shutdown takes 60 to 525600 minutes; the instance type is a SageMaker one (``ml.``);
- drift: the Model Monitor analyzer image exists in the region (``ANALYZER_REGISTRIES``), and
  the baseline lives in the ``datasets`` bucket, the capture and reports in ``artifacts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mlfabric.components.spec import Problems

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec

# The registry account of sagemaker-model-monitor-analyzer per region (sagemaker-python-sdk,
# src/sagemaker/image_uri_config/model-monitor.json, read 2026-07 from aws/sagemaker-python-sdk at
# 021937b7b76e2c50ce2a6be6f59eeb9d04446735; the China regions, on amazonaws.com.cn, are left out).
ANALYZER_REGISTRIES: Final[dict[str, str]] = {
    "eu-north-1": "895015795356", "me-south-1": "607024016150", "ap-south-1": "126357580389",
    "us-east-2": "777275614652", "eu-west-1": "468650794304", "eu-central-1": "048819808253",
    "sa-east-1": "539772159869", "ap-east-1": "001633400207", "us-east-1": "156813124566",
    "ap-northeast-2": "709848358524", "eu-west-2": "749857270468", "eu-west-3": "680080141114",
    "ap-northeast-1": "574779866223", "us-west-2": "159807026194", "us-west-1": "890145073186",
    "ap-southeast-1": "245545462676", "ap-southeast-2": "563025443158", "ca-central-1": "536280801234",
}
# Studio IdleSettings IdleTimeoutInMinutes: 60 to 525600 (SageMaker API reference, IdleSettings).
STUDIO_MIN_IDLE_MINUTES: Final = 60


def _buckets(spec: PlatformSpec) -> list[str]:
    return [bucket.name for bucket in spec.storage.buckets]


def _tracking(spec: PlatformSpec) -> Problems:
    if spec.tracking is None or "artifacts" in _buckets(spec):
        return []
    return [(("tracking",), "SageMaker MLflow keeps its artifacts in the artifacts bucket: add it to "
             f"storage.buckets (got buckets: {', '.join(_buckets(spec)) or 'none'})")]


def _notebooks(spec: PlatformSpec) -> Problems:
    notebooks = spec.notebooks
    if notebooks is None:
        return []
    problems: Problems = []
    if spec.training is None and spec.serving is None:
        problems.append((("notebooks",), "the SageMaker Studio domain runs in the platform VPC, which mlfabric "
                         "builds with training or serving: declare one of them (got neither)"))
    if notebooks.idle_minutes < STUDIO_MIN_IDLE_MINUTES:
        problems.append((("notebooks", "idle_minutes"), "SageMaker Studio stops idle apps after 60 to 525600 "
                         f"minutes (got {notebooks.idle_minutes})"))
    if notebooks.machine is not None and not notebooks.machine.startswith("ml."):
        problems.append((("notebooks", "machine"), "must be a SageMaker instance type such as ml.t3.medium "
                         f"(got {notebooks.machine!r})"))
    return problems


def _drift(spec: PlatformSpec) -> Problems:
    problems: Problems = []
    for index, endpoint in enumerate(spec.serving.endpoints if spec.serving else []):
        if endpoint.monitoring.drift is None:
            continue
        where = ("serving", "endpoints", index, "monitoring", "drift")
        if spec.region not in ANALYZER_REGISTRIES:
            problems.append((where, f"SageMaker Model Monitor's analyzer image is not published in {spec.region} "
                             f"(regions: {', '.join(sorted(ANALYZER_REGISTRIES))})"))
        missing = [b for b in ("datasets", "artifacts") if b not in _buckets(spec)]
        if missing:
            problems.append((where, "the baseline is read from the datasets bucket and reports are written to "
                             f"the artifacts bucket: add {', '.join(missing)} to storage.buckets (got buckets: "
                             f"{', '.join(_buckets(spec)) or 'none'})"))
    return problems


def problems(spec: PlatformSpec) -> Problems:
    """Every AWS-only lifecycle rule the spec breaks."""
    return [*_tracking(spec), *_notebooks(spec), *_drift(spec)]
