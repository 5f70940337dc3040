"""Fake computed outputs of AWS ML-side resources (ECR, SageMaker, SNS, CloudWatch, IAM...).

``OUTPUTS`` maps a type token to a function ``(name, inputs, world) -> outputs``; ``aws.outputs``
consults it before its generic ARN/name answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlfabric.mocks.world import World

OUTPUTS: dict[str, Callable[[str, dict[str, Any], World], dict[str, Any]]] = {}
