"""What each cloud does with each spec field: honoured (and how), or refused (and what to use instead).

Every cloud's home declares one ``Capability`` row per spec field (``components/<cloud>/
capabilities.py``, handed over as ``kit.capabilities``). The same rows drive three things, so they
cannot drift apart:

- validation: a spec that sets a field its cloud refuses fails ``validate`` (and ``plan``) with
  ``field: not supported on <cloud>: <instead> (got X)``; in dev a *protective* field (one that only
  adds safety, such as flow logs) is a warning instead, and the plan's summary says so;
- the README's capability table (``mlfabric.reference`` generates it; CI fails on drift);
- ``tests/test_capabilities.py``, which sets every refused field and expects the refusal, and plans
  every honoured field's ``Evidence`` and expects the resource or input that honours it.

A field is named by its dotted path in the spec, list items as ``[]``:
``serving.endpoints[].traffic.strategy``. A row may be conditional (``refused_when``): on an existing
network, ``network.nat_gateways`` is refused, otherwise honoured — that is two rows, one per case.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from mlfabric.components.catalog import CLOUDS

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec, Problems

Status = Literal["honoured", "refused"]


def is_set(value: Any, spec: PlatformSpec) -> bool:
    """The spec asks for something: a value that is not None, False, 0 or empty."""
    del spec
    return value not in (None, False, 0, "", [], {})


@dataclass(frozen=True)
class Evidence:
    """Where a plan shows that a field is honoured: a resource of ``type_token`` (a prefix or exact
    token) exists in the plan of ``stack`` (an example stack name) with ``patch`` merged into its spec,
    and — when ``prop`` is given — that resource's input at ``prop`` (dotted camelCase, ``[0]`` for
    list items) equals ``equals`` (or is present, when ``equals`` is None)."""

    type_token: str
    stack: str
    patch: Mapping[str, Any] = field(default_factory=dict)
    prop: str | None = None
    equals: Any = None


@dataclass(frozen=True)
class Capability:
    """One (field, cloud) pair: honoured with ``how``, or refused with ``instead``."""

    field: str
    status: Status
    # honoured: how the cloud honours it (names the resource/setting); refused: what to use instead
    note: str
    # honoured: where a plan proves it (None only for identity fields every resource carries)
    evidence: Evidence | None = None
    # refused: whether this value of the field (in this spec) is refused; default: the field is set
    refused_when: Callable[[Any, PlatformSpec], bool] = is_set
    # refused: in dev, only a warning (a field that only adds protection, never one that changes
    # what runs or what it costs)
    protective: bool = False
    # refused: a value that the refusal test sets to prove it (defaults to a value of the right type)
    example: Any = None
    # the row applies only in this case (shown in the README table), e.g. "with existing_network_id"
    case: str = ""
    # honoured by a policy-pack rule rather than a resource (its id), e.g. a budget
    enforced_by: str = ""


# --- the spec's fields ---------------------------------------------------------------------------


def _model_of(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """(M, is_list) when ``annotation`` holds a model M, a list of M, or either optionally."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        for member in get_args(annotation):
            found = _model_of(member)
            if found is not None:
                return found
        return None
    if origin is list:
        inner = get_args(annotation)[0]
        found = _model_of(inner)
        return (found[0], True) if found else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None


def spec_fields(model: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
    """Every leaf field of the spec as a dotted path (``[]`` for list items), in declaration order.

    Cloud-only blocks (``aws``, ``gcp``, ``azure``) are not listed: they exist on one cloud by name.
    """
    if model is None:
        from mlfabric.components.spec import PlatformSpec

        model = PlatformSpec
    paths: list[str] = []
    for name, info in model.model_fields.items():
        if not prefix and name in CLOUDS:
            continue
        path = f"{prefix}{name}"
        nested = _model_of(info.annotation)
        if nested is None:
            paths.append(path)
        else:
            sub, is_list = nested
            paths.extend(spec_fields(sub, f"{path}[]." if is_list else f"{path}."))
    return paths


def values_at(data: Any, path: str) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(concrete path, value) for every occurrence of a dotted ``[]`` path in a spec or its dump."""
    parts = path.split(".")

    def walk(node: Any, rest: Sequence[str], where: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
        if not rest:
            yield where, node
            return
        head, *tail = rest
        is_list = head.endswith("[]")
        key = head[:-2] if is_list else head
        child = node.get(key) if isinstance(node, Mapping) else getattr(node, key, None)
        if child is None:
            if not is_list and not tail:
                yield (*where, key), None
            return
        if is_list:
            for index, item in enumerate(child):
                yield from walk(item, tail, (*where, key, index))
        else:
            yield from walk(child, tail, (*where, key))

    yield from walk(data, parts, ())


# --- validation ------------------------------------------------------------------------------------

_MAX_SHOWN: Final = 60
# How a dev-only warning line ends (the plan's summary line counts them).
DEV_ONLY_WARNING: Final = "[warning: dev only; refused in staging and prod]"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else f"{text[:_MAX_SHOWN - 3]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Refusal:
    """A field the spec sets that its cloud does not honour."""

    path: tuple[str | int, ...]
    message: str
    # dev and protective: a warning, not an error
    warning: bool


def refusals(spec: PlatformSpec, rows: Sequence[Capability]) -> list[Refusal]:
    """Every refused field the spec sets, in row order."""
    found: list[Refusal] = []
    for row in rows:
        if row.status != "refused":
            continue
        for path, value in values_at(spec, row.field):
            if row.refused_when(value, spec):
                message = f"not supported on {spec.cloud}: {row.note} (got {_shown(value)})"
                warning = row.protective and spec.environment == "dev"
                found.append(Refusal(path, message, warning))
    return found


def refusal_problems(spec: PlatformSpec, rows: Sequence[Capability]) -> Problems:
    """The refusals that are errors, as spec problems."""
    return [(r.path, r.message) for r in refusals(spec, rows) if not r.warning]


def spec_warnings(spec: PlatformSpec) -> list[str]:
    """One line per field that dev accepts but the cloud will not honour (shown by validate and plan)."""
    from mlfabric.components.kit import kit_for
    from mlfabric.components.spec.parse import _format_path as format_path

    return [f"{format_path(r.path)}: {r.message} {DEV_ONLY_WARNING}"
            for r in refusals(spec, kit_for(spec.cloud).capabilities) if r.warning]


def missing_rows(cloud: str, rows: Sequence[Capability]) -> list[str]:
    """Spec fields the cloud's table does not cover (the table must name every field)."""
    covered = {row.field for row in rows}
    return [f"{cloud}: no capability row for {name}" for name in spec_fields() if name not in covered]


def unknown_rows(cloud: str, rows: Sequence[Capability]) -> list[str]:
    """Rows naming a field the spec does not have (a renamed or removed field)."""
    known = set(spec_fields())
    return [f"{cloud}: capability row for unknown field {row.field}" for row in rows if row.field not in known]


def budget_rows() -> tuple[Capability, ...]:
    """The `budget` section's rows, the same on every cloud (each cloud's table includes them)."""
    how = ("checked by the policy rule mlf-cost-budget against the `mlfabric cost` estimate "
           "(`mlfabric cost --policy-config OUT.json` passes both to the pack; mandatory in prod)")
    return (
        Capability("budget.idle_usd_per_month", "honoured", f"idle cost (pools at min) {how}",
                   enforced_by="mlf-cost-budget"),
        Capability("budget.full_scale_usd_per_month", "honoured",
                   f"full-scale cost (a ceiling: every pool and endpoint at max all month) {how}",
                   enforced_by="mlf-cost-budget"),
    )


# A row for fields every cloud honours the same way, by their nature (identity and placement).
def everywhere(field_name: str, note: str, evidence: Evidence | None = None) -> Capability:
    """A field honoured identically on every cloud (used by each cloud's table, so rows stay per cloud)."""
    return Capability(field_name, "honoured", note, evidence)


__all__ = [
    "Capability",
    "Evidence",
    "Refusal",
    "everywhere",
    "is_set",
    "missing_rows",
    "refusal_problems",
    "refusals",
    "spec_fields",
    "spec_warnings",
    "unknown_rows",
    "values_at",
]
