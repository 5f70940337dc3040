"""Serving: the outputs every cloud's serving component exposes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pulumi


@runtime_checkable
class ServingOutputs(Protocol):
    """What CI smoke tests and monitoring read from serving."""

    # spec endpoint name -> cloud endpoint name
    endpoint_names: pulumi.Output[dict[str, str]]
    # spec endpoint name -> HTTPS invocation URL
    endpoint_urls: pulumi.Output[dict[str, str]]
