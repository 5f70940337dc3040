"""What the lifecycle sections need on GCP (part of the kit's ``spec_rules``; SDK-free):

- ``tracking``: the platform network (Cloud SQL's private IP, the server's VPC egress), so ``training``
  or ``serving``; an ``artifacts`` bucket (the server's artifact store); no serving endpoint named
  ``mlflow`` (its Cloud Run service would take the tracking server's name);
- ``notebooks``: the platform network (``training`` or ``serving``); with no teams, the workload
  identity they run as (``training`` and ``rbac``); ``notebooks.machine`` a Compute Engine machine
  type mlfabric knows, without GPUs (a GPU notebook would need accelerator settings the spec does not
  have).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mlfabric.components.gcp.machines import machine_type, unknown_machine_message
from mlfabric.components.prices import is_gpu_machine

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec, Problems

ARTIFACTS_BUCKET: Final = "artifacts"
# The tracking server's Cloud Run service is <platform>-<environment>-mlflow (common.tracking_service_name).
TRACKING_SERVICE: Final = "mlflow"


def _has_network(spec: PlatformSpec) -> bool:
    return spec.training is not None or spec.serving is not None


def _tracking(spec: PlatformSpec) -> Problems:
    if spec.tracking is None:
        return []
    problems: Problems = []
    if not _has_network(spec):
        problems.append((("tracking",), "needs the platform network on gcp (Cloud SQL private IP): declare "
                         "training or serving (got neither)"))
    buckets = [bucket.name for bucket in spec.storage.buckets]
    if ARTIFACTS_BUCKET not in buckets:
        problems.append((("tracking",), f"needs an {ARTIFACTS_BUCKET!r} bucket in storage.buckets for MLflow's "
                         f"artifacts (got {', '.join(buckets) or 'none'})"))
    for index, endpoint in enumerate(spec.serving.endpoints if spec.serving else []):
        if endpoint.name == TRACKING_SERVICE:
            problems.append((("serving", "endpoints", index, "name"), "is the tracking server's Cloud Run "
                             f"service name on gcp: rename the endpoint (got {endpoint.name!r})"))
    return problems


def _notebooks(spec: PlatformSpec) -> Problems:
    notebooks = spec.notebooks
    if notebooks is None:
        return []
    problems: Problems = []
    if not _has_network(spec):
        problems.append((("notebooks",), "needs the platform network on gcp (no public IP, egress through "
                         "Cloud NAT): declare training or serving (got neither)"))
    if not spec.teams and (spec.training is None or spec.rbac is None):
        problems.append((("notebooks",), "with no teams, notebooks run as the platform's workload identity, "
                         "which needs training and rbac on gcp: declare teams, or training and rbac"))
    if notebooks.machine is not None:
        machine = machine_type(notebooks.machine)
        if machine is None:
            problems.append((("notebooks", "machine"), unknown_machine_message(notebooks.machine)))
        elif machine.vcpus is None or is_gpu_machine("gcp", notebooks.machine):
            problems.append((("notebooks", "machine"), "a GPU machine needs accelerator settings the spec does "
                             f"not have: use a CPU machine such as e2-standard-4 (got {notebooks.machine!r})"))
    return problems


def lifecycle_problems(spec: PlatformSpec) -> Problems:
    """Every GCP rule of tracking and notebooks the spec breaks."""
    return [*_tracking(spec), *_notebooks(spec)]
