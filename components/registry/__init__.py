"""Registries: the outputs every cloud's registry component exposes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pulumi


@runtime_checkable
class RegistryOutputs(Protocol):
    """What serving and CI read from the registries."""

    # spec repository name -> image URL prefix (push/pull address)
    registry_urls: pulumi.Output[dict[str, str]]
    # spec model name -> model registry id (model package group ARN, Vertex/Azure ML registry id)
    model_registry_ids: pulumi.Output[dict[str, str]]
