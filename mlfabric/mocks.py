"""Pulumi mocks for the offline plan: deterministic ids and realistic computed outputs.

The mock runtime hands every registration to ``PlanMocks.new_resource``; the answer must carry the
outputs a real provider computes (ARNs, ids, physical names, URLs), because an input built from an
output the mock did not return is silently dropped — and a policy such as "KMS key required" would
then fire falsely. Each cloud's answers live in its own module (pure data and string formatting, no
provider SDK import); ``fakes_for`` picks them by the type token's package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from mlfabric.components.aws import fakes as aws_fakes
from mlfabric.components.azure import fakes as azure_fakes
from mlfabric.components.fakes import World
from mlfabric.components.gcp import fakes as gcp_fakes
from mlfabric.components.kubernetes import fakes as kubernetes_fakes

__all__ = ["PlanMocks", "UnknownInvokeError", "World", "stable_id"]

Outputs = Callable[[str, str, dict[str, Any], World], dict[str, Any]]
Invoke = Callable[[dict[str, Any], World], dict[str, Any]]

_OUTPUTS: dict[str, Outputs] = {
    "aws": aws_fakes.outputs,
    "gcp": gcp_fakes.outputs,
    "azure-native": azure_fakes.outputs,
    "kubernetes": kubernetes_fakes.outputs,
}
_INVOKES: dict[str, Invoke] = {
    **aws_fakes.INVOKES,
    **gcp_fakes.INVOKES,
    **azure_fakes.INVOKES,
}


class UnknownInvokeError(RuntimeError):
    """A component called an invoke the offline plan has no fake answer for."""


def stable_id(*parts: str, length: int = 8) -> str:
    """A deterministic hex id, the same on every run for the same resource."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass
class PlanMocks(pulumi.runtime.Mocks):
    """The offline plan's answers to resource registrations and invokes."""

    world: World

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if not args.custom:
            return None, inputs
        package = args.typ.split(":", 1)[0]
        fakes = _OUTPUTS.get(package)
        computed = fakes(args.typ, args.name, inputs, self.world) if fakes else {}
        outputs = {**inputs, **computed}
        resource_id = outputs.pop("__id", None) or f"{args.name}-{stable_id(args.typ, args.name)}"
        return str(resource_id), outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = _INVOKES.get(args.token)
        if answer is None:
            raise UnknownInvokeError(
                f"the offline plan has no fake answer for invoke {args.token!r}; "
                "add one to components/<cloud>/fakes.py"
            )
        # (dict, []) — not (dict, None), which the mock monitor rejects with a TypeError.
        return answer(dict(args.args), self.world), []
