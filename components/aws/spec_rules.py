"""What a spec must satisfy on AWS only (the kit's ``spec_rules``; SDK-free): limits EKS,
SageMaker and CloudWatch Logs enforce, caught before anything is declared, and the shape of an IAM
principal."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from mlfabric.components.spec import Problems, principal_problems

if TYPE_CHECKING:
    from mlfabric.components.spec import EndpointSpec, PlatformSpec

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)
_PRINCIPAL: Final = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user|root)(/[\w+=,.@/-]+)?$")
_PRINCIPAL_EXAMPLE: Final = "an IAM role or user ARN such as arn:aws:iam::123456789012:role/Name"


def _eks_zones(spec: PlatformSpec) -> Problems:
    # EKS refuses a cluster whose subnets do not span at least two zones.
    if spec.training is None or spec.network.availability_zones >= 2:
        return []
    return [(("network", "availability_zones"), "EKS needs at least 2 zones for a training "
             f"cluster (got {spec.network.availability_zones})")]


def _sagemaker_limits(where: tuple[str | int, ...], endpoint: EndpointSpec, buckets: list[str]) -> Problems:
    """What SageMaker refuses, caught before anything is declared."""
    problems: Problems = []
    traffic = endpoint.traffic
    if traffic.challenger is not None and traffic.shadow is not None:
        problems.append(((*where, "traffic", "shadow"), "SageMaker runs a shadow variant only beside a single "
                         "production variant: drop the challenger or the shadow (got both)"))
    if traffic.bake_minutes > 60:
        problems.append(((*where, "traffic", "bake_minutes"), f"SageMaker bakes each step at most 60 minutes "
                         f"(got {traffic.bake_minutes})"))
    if endpoint.data_capture_percent > 0 and "artifacts" not in buckets:
        problems.append(((*where, "data_capture_percent"), "data capture writes to the 'artifacts' bucket, which "
                         f"storage.buckets does not declare (got {endpoint.data_capture_percent})"))
    return problems


def _endpoints(spec: PlatformSpec) -> Problems:
    if spec.serving is None:
        return []
    buckets = [b.name for b in spec.storage.buckets]
    return [problem
            for index, endpoint in enumerate(spec.serving.endpoints)
            for problem in _sagemaker_limits(("serving", "endpoints", index), endpoint, buckets)]


def _log_retention(spec: PlatformSpec) -> Problems:
    days = spec.monitoring.log_retention_days
    if days in LOG_RETENTION_DAYS:
        return []
    return [(("monitoring", "log_retention_days"), "CloudWatch Logs accepts only "
             f"{', '.join(map(str, LOG_RETENTION_DAYS))} (got {days})")]


def problems(spec: PlatformSpec) -> Problems:
    """Every AWS-only rule the spec breaks, as (field path, message)."""
    return [
        *_eks_zones(spec),
        *_endpoints(spec),
        *_log_retention(spec),
        *principal_problems(spec, _PRINCIPAL, _PRINCIPAL_EXAMPLE),
    ]
