"""Where the checked resources come from: an offline plan of a stack file, plan JSON (``--plan``,
what ``mlfabric plan --json`` wrote, possibly edited by a reviewer) or a ``pulumi stack export``
(``--state``: each deployed resource's inputs, audited without the engine).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from mlfabric.errors import UsageError

if TYPE_CHECKING:
    from mlfabric.plan import Plan, ResourceCounts, ResourceRecord
    from mlfabric.stackfile import StackFile

# The key Pulumi marks a secret value with in a stack export.
_SECRET_SIG: Final = "4dabf18193072939515e22adb298388d"


@dataclass
class Source:
    """Recorded resources and what they came from."""

    stack: str
    project: str
    environment: str | None
    cloud: str | None
    path: str
    resources: list[ResourceRecord]
    notes: list[str] = field(default_factory=list)
    plan_seconds: float = 0.0

    def counts(self) -> ResourceCounts:
        """Cloud resources, components and providers, counted as ``mlfabric plan`` counts them."""
        from mlfabric.plan import count_resources

        return count_resources(self.resources)


def _records_from_dicts(rows: Iterable[Mapping[str, Any]]) -> list[ResourceRecord]:
    from mlfabric.plan import ResourceRecord

    names = {f.name for f in dataclasses.fields(ResourceRecord)}
    return [ResourceRecord(**{k: v for k, v in row.items() if k in names}) for row in rows]


def source_from_plan(plan: Plan, seconds: float = 0.0) -> Source:
    return Source(plan.stack, plan.project, plan.spec.environment, plan.spec.cloud, plan.source,
                  list(plan.resources), list(plan.notes), seconds)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise UsageError([f"{path}: cannot read {what} ({error.strerror})"]) from None
    except json.JSONDecodeError as error:
        raise UsageError([f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"]) from None


def source_from_plan_json(path: Path) -> Source:
    """Resources from what ``mlfabric plan --json`` wrote."""
    data = _read_json(path, "plan")
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise UsageError([f"{path}: not an mlfabric plan (expected a JSON object with a resources list)"])
    problems = [f"{path}: resources[{i}]: needs urn, type and inputs" for i, r in enumerate(data["resources"])
                if not isinstance(r, dict) or not {"urn", "type", "inputs"} <= set(r)]
    if problems:
        raise UsageError(problems)
    rows = [{"name": r["urn"].rsplit("::", 1)[-1], "parent": "", "custom": True, "provider": "", "protect": False,
             "retain_on_delete": False, "id": None, **r} for r in data["resources"]]
    return Source(str(data.get("stack") or path.stem), str(data.get("project") or "mlfabric"),
                  data.get("environment"), data.get("cloud"), str(data.get("source") or path),
                  _records_from_dicts(rows), [str(n) for n in data.get("notes") or []])


def _unsecret(value: Any) -> Any:
    """Stack-export secrets: the plaintext when exported with --show-secrets, else a placeholder."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            return _secret_plaintext(value)
        return {k: _unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsecret(v) for v in value]
    return value


def _secret_plaintext(value: Mapping[str, Any]) -> Any:
    if "plaintext" not in value:
        return "[secret]"
    try:
        return json.loads(value["plaintext"])
    except (TypeError, ValueError):
        return value["plaintext"]


def _state_row(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A stack export's resource as a ResourceRecord's fields (inputs with secrets resolved)."""
    urn = str(resource["urn"])
    return {
        "urn": urn,
        "type": resource["type"],
        "name": urn.rsplit("::", 1)[-1],
        "parent": resource.get("parent") or "",
        "custom": bool(resource.get("custom")),
        "provider": resource.get("provider") or "",
        "protect": bool(resource.get("protect")),
        "retain_on_delete": bool(resource.get("retainOnDelete")),
        "id": resource.get("id"),
        "inputs": _unsecret(resource.get("inputs") or {}),
        "dependencies": list(resource.get("dependencies") or []),
        "property_dependencies": dict(resource.get("propertyDependencies") or {}),
    }


@dataclass
class _StackIdentity:
    """What a stack export says about the stack: from the root stack resource, else resource tags."""

    stack: str = ""
    project: str = ""
    environment: str | None = None
    cloud: str | None = None

    def learn(self, resource: Mapping[str, Any], inputs: Any) -> None:
        if resource["type"] == "pulumi:pulumi:Stack":
            outputs = resource.get("outputs") or {}
            self.environment = self.environment or outputs.get("environment")
            self.cloud = self.cloud or outputs.get("cloud")
            self.stack, _, rest = str(resource["urn"])[len("urn:pulumi:"):].partition("::")
            self.project = rest.split("::", 1)[0]
        tags = inputs.get("tags") or inputs.get("labels") if isinstance(inputs, dict) else None
        if self.environment is None and isinstance(tags, dict) and tags.get("mlfabric-environment"):
            self.environment = str(tags["mlfabric-environment"])


def _live(resource: Any) -> bool:
    return isinstance(resource, dict) and "urn" in resource and "type" in resource and not resource.get("delete")


def source_from_state(path: Path) -> Source:
    """Resources of a deployed stack from ``pulumi stack export`` (their inputs, as the engine had them)."""
    data = _read_json(path, "stack export")
    deployment = data.get("deployment") if isinstance(data, dict) else None
    raw = deployment.get("resources") if isinstance(deployment, dict) else None
    if not isinstance(raw, list):
        raise UsageError([f"{path}: not a `pulumi stack export` document (no deployment.resources)"])
    identity = _StackIdentity()
    rows: list[dict[str, Any]] = []
    for resource in filter(_live, raw):
        row = _state_row(resource)
        identity.learn(resource, row["inputs"])
        rows.append(row)
    return Source(identity.stack or path.stem, identity.project or "mlfabric", identity.environment, identity.cloud,
                  str(path), _records_from_dicts(rows))


def source_from_stack(stack: StackFile) -> Source:
    """Plan a stack file offline (the same path as ``mlfabric plan``)."""
    from mlfabric.plan import plan_stack

    started = time.perf_counter()
    plan = plan_stack(stack)
    return source_from_plan(plan, time.perf_counter() - started)
