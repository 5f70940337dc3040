"""RBAC: the outputs every cloud's RBAC component exposes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pulumi


@runtime_checkable
class RbacOutputs(Protocol):
    """What users and training jobs read from RBAC."""

    # persona -> role the persona's principals assume (IAM role ARN, custom role / group id, ...)
    persona_roles: pulumi.Output[dict[str, str]]
    # identity training pods run as (IAM role ARN, Google service account email, managed identity client id)
    workload_identity: pulumi.Output[str]
