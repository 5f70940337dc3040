"""Pulumi mocks for the offline plan: deterministic ids and every computed output a provider returns.

The mock runtime hands every registration to ``PlanMocks.new_resource``. The answer must carry the
outputs a real provider computes (ARNs, ids, physical names, URLs), because an input built from an
output the mock did not return is silently dropped — and a policy such as "KMS key required" would
then fire falsely. So the answer is complete by construction: each cloud's ``fakes.outputs`` (picked
by the type token's package, imported on first use) formats ids, names and the values that need the
cloud's real shapes, and ``derived_outputs`` answers every other output the installed provider SDK
declares for the type. A type no SDK declares, or a fake naming an output the SDK does not declare,
raises ``UnknownOutputError``: the plan fails with the type and the property named, instead of a
component reading ``None``. An invoke without a fake answer raises ``UnknownInvokeError``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi

from mlfabric.components.derived_outputs import UnknownOutputError
from mlfabric.components.fakes import World

__all__ = ["PlanMocks", "UnknownInvokeError", "UnknownOutputError", "World", "stable_id"]

Outputs = Callable[[str, str, dict[str, Any], World], dict[str, Any]]
Invoke = Callable[[dict[str, Any], World], dict[str, Any]]

# type-token package -> the module holding its fakes (``outputs`` and ``INVOKES``)
FAKES: Final[dict[str, str]] = {
    "aws": "mlfabric.components.aws.fakes",
    "gcp": "mlfabric.components.gcp.fakes",
    "azure-native": "mlfabric.components.azure.fakes",
    "kubernetes": "mlfabric.components.kubernetes.fakes",
}
# Provider resources (``pulumi:providers:aws``) compute nothing: their outputs are their inputs.
_PROVIDERS: Final = "pulumi:providers:"


class UnknownInvokeError(RuntimeError):
    """A component called an invoke the offline plan has no fake answer for."""


def stable_id(*parts: str, length: int = 8) -> str:
    """A deterministic hex id, the same on every run for the same resource."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@functools.cache
def _fakes_of(package: str) -> tuple[Outputs, Mapping[str, Invoke]] | None:
    module_name = FAKES.get(package)
    if module_name is None:
        return None
    module = importlib.import_module(module_name)
    return module.outputs, getattr(module, "INVOKES", {})


def _package(token: str) -> str:
    return token.split(":", 1)[0]


@dataclass
class PlanMocks(pulumi.runtime.Mocks):
    """The offline plan's answers to resource registrations and invokes."""

    world: World

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if not args.custom:
            return None, inputs
        default_id = f"{args.name}-{stable_id(args.typ, args.name)}"
        if args.typ.startswith(_PROVIDERS):
            return default_id, inputs
        fakes = _fakes_of(_package(args.typ))
        if fakes is None:
            raise UnknownOutputError(
                f"the offline plan cannot answer resource {args.name!r} of type {args.typ!r}: it has no fakes for "
                f"the {_package(args.typ)!r} package (add them to mlfabric.mocks.FAKES)"
            )
        # Only the computed outputs: the SDK resolves every other property from the inputs it sent.
        outputs = fakes[0](args.typ, args.name, inputs, self.world)
        resource_id = outputs.pop("__id", None) or default_id
        return str(resource_id), outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        fakes = _fakes_of(_package(args.token))
        answer = fakes[1].get(args.token) if fakes else None
        if answer is None:
            raise UnknownInvokeError(
                f"the offline plan has no fake answer for invoke {args.token!r}; "
                "add one to components/<cloud>/fakes.py"
            )
        # (dict, []) — not (dict, None), which the mock monitor rejects with a TypeError.
        return answer(dict(args.args), self.world), []
