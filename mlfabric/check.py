"""``mlfabric check``: the CrossGuard pack's own policy objects, evaluated offline.

The pack (``mlfabric.policies.rules.POLICIES``) is what ``pulumi preview --policy-pack policies`` loads; here
each policy's ``validate`` is called directly with real ``pulumi_policy.ResourceValidationArgs`` /
``StackValidationArgs`` built from recorded resources, so offline and engine verdicts come from the
same code. Resources come from an offline plan (``-s STACK`` / ``--file``), from plan JSON
(``--plan``, what ``mlfabric plan --json`` wrote, possibly edited by a reviewer) or from a
``pulumi stack export`` (``--state``, each resource's inputs: audit a live stack without the engine).

Policy config is the file ``pulumi preview --policy-pack-config`` takes: rule id (or ``all``) ->
enforcement level, or an object with ``enforcementLevel`` and the rule's properties. By default the
stack's environment picks ``policies/config/<env>.json``.

Exit codes: 0 clean (advisory findings allowed), 1 mandatory violations, 2 bad spec or usage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import inspect
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, cast
from xml.etree import ElementTree

import typer

from mlfabric.errors import UsageError

if TYPE_CHECKING:
    from pulumi_policy import Policy, PolicyResource

    from mlfabric.plan import Plan, ResourceRecord

EXIT_OK: Final = 0
EXIT_VIOLATIONS: Final = 1
EXIT_USAGE: Final = 2
REPORT_FORMAT: Final = "mlfabric-check/1"
LEVELS: Final = ("advisory", "mandatory", "remediate", "disabled")
SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI: Final = "https://mlfabric.dev/policies"
_SECURITY_SEVERITY: Final = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
_JSON_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "array": (list,), "object": (dict,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float),
}


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"


# --- policy config -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSetting:
    """One rule's entry in a policy config file."""

    enforcement: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PackConfig:
    """A ``--policy-pack-config`` file: per-rule enforcement and properties, ``all`` for every rule."""

    path: Path | None = None
    all_enforcement: str | None = None
    rules: dict[str, RuleSetting] = field(default_factory=dict)

    def enforcement(self, policy: Policy) -> str:
        setting = self.rules.get(policy.name)
        if setting is not None and setting.enforcement is not None:
            return setting.enforcement
        if self.all_enforcement is not None:
            return self.all_enforcement
        return policy.enforcement_level.value if policy.enforcement_level is not None else "advisory"

    def properties(self, rule_id: str) -> dict[str, Any]:
        setting = self.rules.get(rule_id)
        return dict(setting.properties) if setting else {}


def _check_value(where: str, schema: Mapping[str, Any], value: Any) -> list[str]:
    expected = schema.get("type")
    python_types = _JSON_TYPES.get(str(expected))
    if python_types is None:
        return []
    if isinstance(value, bool) and expected in ("integer", "number"):
        return [f"{where}: must be {expected} (got {value!r})"]
    if not isinstance(value, python_types):
        return [f"{where}: must be {expected} (got {value!r})"]
    problems: list[str] = []
    if expected == "array":
        item_schema = schema.get("items") or {}
        elements = cast(list[Any], value)
        for index, item in enumerate(elements):
            problems.extend(_check_value(f"{where}[{index}]", item_schema, item))
    if expected in ("integer", "number") and "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{where}: must be >= {schema['minimum']} (got {value!r})")
    return problems


def parse_pack_config(data: Any, source: str, schemas: Mapping[str, Mapping[str, Any]]) -> PackConfig:
    """Validate config data against the pack's rules and their schemas; UsageError on problems."""
    if not isinstance(data, dict):
        raise UsageError([f"{source}: must be a JSON object of rule id -> enforcement level or settings"])
    problems: list[str] = []
    rules: dict[str, RuleSetting] = {}
    all_level: str | None = None
    for rule_id, value in data.items():
        where = f"{source}: {rule_id}"
        if rule_id == "all":
            if value not in LEVELS:
                problems.append(f"{where}: must be one of {', '.join(LEVELS)} (got {value!r})")
            else:
                all_level = value
            continue
        if rule_id not in schemas:
            problems.append(f"{where}: no such rule in the mlfabric pack")
            continue
        if isinstance(value, str):
            if value not in LEVELS:
                problems.append(f"{where}: must be one of {', '.join(LEVELS)} (got {value!r})")
            else:
                rules[rule_id] = RuleSetting(value)
            continue
        if not isinstance(value, dict):
            problems.append(f"{where}: must be an enforcement level or an object (got {value!r})")
            continue
        level = value.get("enforcementLevel")
        if level is not None and level not in LEVELS:
            problems.append(f"{where}.enforcementLevel: must be one of {', '.join(LEVELS)} (got {level!r})")
        properties = {k: v for k, v in value.items() if k != "enforcementLevel"}
        schema = schemas[rule_id]
        for key, prop in properties.items():
            if key not in schema:
                known = ", ".join(schema) or "none"
                problems.append(f"{where}.{key}: unknown property (known: {known})")
            else:
                problems.extend(_check_value(f"{where}.{key}", schema[key], prop))
        rules[rule_id] = RuleSetting(level, properties)
    if problems:
        raise UsageError(problems)
    return PackConfig(Path(source), all_level, rules)


def load_pack_config(path: Path) -> PackConfig:
    from mlfabric.policies.rules import config_schema

    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError([f"{path}: cannot read policy config ({error.strerror})"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError([f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"]) from None
    return parse_pack_config(data, str(path), config_schema())


def config_dir() -> Path:
    """``policies/config`` of the project in the working directory, else of the installed pack."""
    from mlfabric import stackfile

    local = stackfile.find_project_dir() / "policies" / "config"
    if local.is_dir():
        return local
    import policies

    return Path(policies.__file__).resolve().parent / "config"


def config_for_environment(environment: str | None) -> Path:
    if not environment:
        raise UsageError(["cannot tell the stack's environment: give the policy config with --config FILE"])
    path = config_dir() / f"{environment}.json"
    if not path.is_file():
        raise UsageError([f"{path}: no policy config for environment {environment!r} (give --config FILE)"])
    return path


# --- resources from plans, plan JSON and stack exports ---------------------------------------------------


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
        if "4dabf18193072939515e22adb298388d" in value:
            if "plaintext" in value:
                try:
                    return json.loads(value["plaintext"])
                except (TypeError, ValueError):
                    return value["plaintext"]
            return "[secret]"
        return {k: _unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsecret(v) for v in value]
    return value


def source_from_state(path: Path) -> Source:
    """Resources of a deployed stack from ``pulumi stack export`` (their inputs, as the engine had them)."""
    data = _read_json(path, "stack export")
    deployment = data.get("deployment") if isinstance(data, dict) else None
    raw = deployment.get("resources") if isinstance(deployment, dict) else None
    if not isinstance(raw, list):
        raise UsageError([f"{path}: not a `pulumi stack export` document (no deployment.resources)"])
    rows: list[dict[str, Any]] = []
    environment: str | None = None
    cloud: str | None = None
    stack = project = ""
    for resource in raw:
        if not isinstance(resource, dict) or "urn" not in resource or "type" not in resource or resource.get("delete"):
            continue
        urn = str(resource["urn"])
        if resource["type"] == "pulumi:pulumi:Stack":
            outputs = resource.get("outputs") or {}
            environment = environment or outputs.get("environment")
            cloud = cloud or outputs.get("cloud")
            stack, _, rest = urn[len("urn:pulumi:"):].partition("::")
            project = rest.split("::", 1)[0]
        inputs = _unsecret(resource.get("inputs") or {})
        tags = inputs.get("tags") or inputs.get("labels") if isinstance(inputs, dict) else None
        if environment is None and isinstance(tags, dict) and tags.get("mlfabric-environment"):
            environment = str(tags["mlfabric-environment"])
        rows.append({
            "urn": urn,
            "type": resource["type"],
            "name": urn.rsplit("::", 1)[-1],
            "parent": resource.get("parent") or "",
            "custom": bool(resource.get("custom")),
            "provider": resource.get("provider") or "",
            "protect": bool(resource.get("protect")),
            "retain_on_delete": bool(resource.get("retainOnDelete")),
            "id": resource.get("id"),
            "inputs": inputs,
            "dependencies": list(resource.get("dependencies") or []),
            "property_dependencies": dict(resource.get("propertyDependencies") or {}),
        })
    return Source(stack or path.stem, project or "mlfabric", environment, cloud, str(path), _records_from_dicts(rows))


def source_from_stack(stack: str | None, file: Path | None) -> Source:
    """Plan a stack file offline (the same path as ``mlfabric plan``)."""
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    started = time.perf_counter()
    plan = plan_stack(stackfile.load(stackfile.resolve(stack, file)))
    return source_from_plan(plan, time.perf_counter() - started)


# --- running the pack -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    rule_id: str
    title: str
    severity: str
    enforcement: str
    message: str
    remediation: str
    urn: str | None
    resource_type: str | None
    resource_name: str | None
    section: str

    @property
    def mandatory(self) -> bool:
        return self.enforcement in ("mandatory", "remediate")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class CheckReport:
    """Verdicts of every rule on one stack."""

    source: Source
    config_path: str | None
    levels: dict[str, str]
    violations: list[Violation]
    not_applicable: dict[str, str]
    policy_seconds: float

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if not v.mandatory]

    @property
    def exit_code(self) -> int:
        return EXIT_VIOLATIONS if self.mandatory else EXIT_OK

    @property
    def evaluated(self) -> list[str]:
        return [rule for rule, level in self.levels.items() if level != "disabled"]

    def summary(self) -> dict[str, Any]:
        return {
            "rules": len(self.levels),
            "rules_evaluated": len(self.evaluated),
            "resources": len(self.source.resources),
            "mandatory_violations": len(self.mandatory),
            "advisory_violations": len(self.advisory),
            "plan_seconds": round(self.source.plan_seconds, 3),
            "policy_seconds": round(self.policy_seconds, 3),
        }


def _provider_urn(reference: str) -> str:
    # A provider reference is "<provider urn>::<provider id>".
    return reference.rsplit("::", 1)[0] if reference else ""


class _Inputs:
    """The pulumi_policy argument objects for recorded resources, built once per check."""

    def __init__(self, records: Sequence[ResourceRecord]) -> None:
        from pulumi_policy import PolicyCustomTimeouts, PolicyProviderResource, PolicyResource, PolicyResourceOptions
        from pulumi_policy.proxy import unknown_checking_proxy

        self.records = list(records)
        by_urn = {r.urn: r for r in self.records}
        # Props exactly as the analyzer hands them to policies: wrapped in the SDK's proxies (lists
        # arrive as a Sequence that is not a list; unknown values raise), built once per resource.
        self.props = {r.urn: unknown_checking_proxy(dict(r.inputs)) for r in self.records}
        self.options = {
            r.urn: PolicyResourceOptions(
                protect=r.protect, ignore_changes=[], delete_before_replace=None,
                aliases=list(getattr(r, "aliases", []) or []), custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                additional_secret_outputs=[], parent=r.parent or None,
            )
            for r in self.records
        }
        self.providers: dict[str, Any] = {}
        for record in self.records:
            provider = by_urn.get(_provider_urn(record.provider))
            self.providers[record.urn] = (
                PolicyProviderResource(provider.type, self.props[provider.urn], provider.urn, provider.name)
                if provider
                else None
            )
        stack_resources = {
            r.urn: PolicyResource(r.type, self.props[r.urn], r.urn, r.name, self.options[r.urn], self.providers[r.urn],
                                  None, [], {})
            for r in self.records
        }
        for record in self.records:
            resource = stack_resources[record.urn]
            resource.parent = stack_resources.get(record.parent)
            resource.dependencies = [stack_resources[d] for d in record.dependencies if d in stack_resources]
            resource.property_dependencies = {
                key: [stack_resources[d] for d in deps if d in stack_resources]
                for key, deps in record.property_dependencies.items()
            }
        self.stack_resources: list[PolicyResource] = list(stack_resources.values())


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        async def wait() -> None:
            await result

        asyncio.run(wait())


def _for_resource(report: Callable[[str, str | None], None], urn: str) -> Callable[[str, str | None], None]:
    """A resource policy's report_violation: the URN is always the resource's (as in the engine)."""

    def report_violation(message: str, _urn: str | None = None) -> None:
        report(message, urn)

    return report_violation


def run_pack(source: Source, config: PackConfig, policies: Sequence[Policy] | None = None) -> CheckReport:
    """Call every policy's ``validate`` on the source's resources; collect violations."""
    from pulumi_policy import (
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )
    from pulumi_policy.policy import _NotApplicableError

    from mlfabric.policies.rules import POLICIES

    pack = list(policies if policies is not None else POLICIES)
    started = time.perf_counter()
    inputs = _Inputs(source.resources)
    by_urn = {r.urn: r for r in source.resources}
    stack_tags = {"pulumi:project": source.project, "pulumi:runtime": "python"}
    levels = {p.name: config.enforcement(p) for p in pack}
    violations: list[Violation] = []
    not_applicable: dict[str, str] = {}

    for policy in pack:
        level = levels[policy.name]
        if level == "disabled":
            continue
        info = getattr(policy, "info", None)
        properties = config.properties(policy.name)

        def report(message: str, urn: str | None, _policy: Policy = policy, _level: str = level,
                   _info: Any = info) -> None:
            record = by_urn.get(urn) if urn else None
            violations.append(Violation(
                rule_id=_policy.name,
                title=_policy.display_name or _policy.name,
                severity=_policy.severity.value if _policy.severity else "medium",
                enforcement=_level,
                message=message or _policy.description,
                remediation=_policy.remediation_steps or "",
                urn=urn,
                resource_type=record.type if record else None,
                resource_name=record.name if record else None,
                section=getattr(_info, "section", "") or "",
            ))

        try:
            if isinstance(policy, StackValidationPolicy):
                _run(policy.validate(StackValidationArgs(inputs.stack_resources, properties, stack_tags), report))
                continue
            if not isinstance(policy, ResourceValidationPolicy):
                continue
            matches = getattr(policy, "matches", None)
            for record in source.resources:
                if matches is not None and not matches(record.type):
                    continue
                args = ResourceValidationArgs(record.type, inputs.props[record.urn], record.urn, record.name,
                                              inputs.options[record.urn], inputs.providers[record.urn],
                                              properties, stack_tags)
                _run(policy.validate(args, _for_resource(report, record.urn)))
        except _NotApplicableError as error:
            not_applicable[policy.name] = error.reason or "not applicable"
        except Exception as error:
            report(f"the rule failed to run: {type(error).__name__}: {error}", None)
    return CheckReport(source, _relative(str(config.path)) if config.path else None, levels, violations, not_applicable,
                       time.perf_counter() - started)


def check_plan(plan: Plan, config_path: Path | None = None, plan_seconds: float = 0.0) -> CheckReport:
    """Check an in-memory plan under its environment's policy config (or ``config_path``)."""
    source = source_from_plan(plan, plan_seconds)
    return run_pack(source, load_pack_config(config_path or config_for_environment(source.environment)))


def check_source(source: Source, config_path: Path | None = None) -> CheckReport:
    return run_pack(source, load_pack_config(config_path or config_for_environment(source.environment)))


# --- rendering --------------------------------------------------------------------------------------------


def _resource_label(v: Violation) -> str:
    if v.resource_name is None:
        return "(stack)"
    return f"{v.resource_name}\n[dim]{v.resource_type}[/dim]"


def render_text(report: CheckReport, file: Any = None) -> None:
    """A rich table of violations (rule id, resource, message, remediation) and a summary line."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=file, width=200 if file is not None else None, no_color=file is not None)
    if file is None and not console.is_terminal:
        console = Console(width=160)  # CI logs: wide enough that rule ids and messages stay on one line
    source = report.source
    s = report.summary()
    console.print(
        f"mlfabric check: stack [bold]{escape(source.stack)}[/bold] ({source.cloud or '?'}, "
        f"{source.environment or '?'}): {s['rules_evaluated']} of {s['rules']} rules on {s['resources']} resources"
        f" (config {escape(report.config_path or 'pack defaults')})"
    )
    for note in source.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if report.violations:
        table = Table(show_lines=True, expand=False)
        for column in ("Rule", "Level", "Resource", "Message", "Remediation"):
            table.add_column(column, overflow="fold")
        order = sorted(report.violations, key=lambda v: (not v.mandatory, v.rule_id, v.resource_name or ""))
        for v in order:
            level = "[red]mandatory[/red]" if v.mandatory else "[yellow]advisory[/yellow]"
            label = _resource_label(v) if v.resource_name else "(stack)"
            table.add_row(escape(v.rule_id), level, label, escape(v.message), escape(v.remediation))
        console.print(table)
    timing = f"plan {s['plan_seconds']:.2f}s, policies {s['policy_seconds']:.2f}s"
    if report.mandatory:
        console.print(f"[red]✗ {len(report.mandatory)} mandatory, {len(report.advisory)} advisory violations[/red] ({timing})")
    elif report.advisory:
        console.print(f"[yellow]✓ no mandatory violations; {len(report.advisory)} advisory[/yellow] ({timing})")
    else:
        console.print(f"[green]✓ no violations[/green] ({timing})")


def to_json(report: CheckReport) -> dict[str, Any]:
    source = report.source
    return {
        "format": REPORT_FORMAT,
        "stack": source.stack,
        "project": source.project,
        "environment": source.environment,
        "cloud": source.cloud,
        "source": source.path,
        "config": report.config_path,
        "summary": report.summary(),
        "passed": report.exit_code == EXIT_OK,
        "rules": report.levels,
        "not_applicable": report.not_applicable,
        "notes": source.notes,
        "violations": [v.to_json() for v in report.violations],
    }


def _section_lines(path: str) -> dict[str, int]:
    """Line numbers of the spec's top-level sections in a stack file (for SARIF locations)."""
    lines: dict[str, int] = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return lines
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^\s+([a-z_]+):", line) or re.match(r"^\s*(mlfabric:platform):", line)
        if match and match.group(1) not in lines:
            lines[match.group(1)] = number
    return lines


def _relative(path: str) -> str:
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def sarif_level(enforcement: str) -> str:
    return {"mandatory": "error", "remediate": "error", "advisory": "warning"}.get(enforcement, "none")


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """SARIF 2.1.0: every rule of the pack in tool.driver.rules, one result per violation."""
    from mlfabric.policies.rules import PACK_VERSION, RULES

    rule_ids = list(RULES)
    extra = [rid for rid in report.levels if rid not in RULES]
    rules = []
    for rule_id in [*rule_ids, *extra]:
        info = RULES.get(rule_id)
        level = report.levels.get(rule_id, "disabled")
        severity = info.severity.value if info else "medium"
        rules.append({
            "id": rule_id,
            "name": "".join(part.capitalize() for part in rule_id.split("-")),
            "shortDescription": {"text": info.title if info else rule_id},
            "fullDescription": {"text": info.description if info else rule_id},
            "help": {"text": info.remediation if info else "", "markdown": f"**Remediation:** {info.remediation}" if info else ""},
            "helpUri": f"{INFORMATION_URI}#{rule_id}",
            "defaultConfiguration": {"level": sarif_level(level), "enabled": level != "disabled"},
            "properties": {
                "tags": ["security", "iac", "pulumi", *(info.clouds if info else ())],
                "precision": "high",
                "security-severity": _SECURITY_SEVERITY.get(severity, "5.5"),
                "severity": severity,
                "enforcement": level,
            },
        })
    uri = _relative(report.source.path) if report.source.path else "Pulumi.yaml"
    sections = _section_lines(report.source.path) if report.source.path else {}
    results = []
    for v in report.violations:
        line = sections.get(v.section) or sections.get("mlfabric:platform") or 1
        resource = f"{v.resource_name} ({v.resource_type})" if v.resource_name else f"stack {report.source.stack}"
        fingerprint = hashlib.sha256(f"{v.rule_id}|{v.urn}|{v.message}".encode()).hexdigest()[:32]
        results.append({
            "ruleId": v.rule_id,
            "ruleIndex": [r["id"] for r in rules].index(v.rule_id) if v.rule_id in report.levels else 0,
            "level": sarif_level(v.enforcement),
            "message": {"text": f"{resource}: {v.message}. Remediation: {v.remediation}"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}},
                "logicalLocations": [{"name": v.resource_name or report.source.stack,
                                      "fullyQualifiedName": v.urn or f"stack:{report.source.stack}",
                                      "kind": "resource"}],
            }],
            "partialFingerprints": {"mlfabricViolation/v1": fingerprint},
        })
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mlfabric", "fullName": "mlfabric CrossGuard policy pack",
                                "informationUri": INFORMATION_URI, "version": PACK_VERSION,
                                "semanticVersion": PACK_VERSION, "rules": rules}},
            "automationDetails": {"id": f"mlfabric/check/{report.source.stack}/"},
            "invocations": [{"executionSuccessful": True,
                             "properties": {"config": report.config_path, **report.summary()}}],
            "results": results,
        }],
    }


def to_junit(report: CheckReport) -> str:
    """JUnit XML: one test case per rule; mandatory violations fail it, disabled rules are skipped."""
    by_rule: dict[str, list[Violation]] = {}
    for v in report.violations:
        by_rule.setdefault(v.rule_id, []).append(v)
    failures = sum(1 for rid, vs in by_rule.items() if any(v.mandatory for v in vs))
    skipped = sum(1 for level in report.levels.values() if level == "disabled")
    seconds = f"{report.policy_seconds:.3f}"
    suites = ElementTree.Element("testsuites", name="mlfabric check", tests=str(len(report.levels)),
                                 failures=str(failures), errors="0", time=seconds)
    suite = ElementTree.SubElement(suites, "testsuite", name=f"mlfabric policies: {report.source.stack}",
                                   tests=str(len(report.levels)), failures=str(failures), errors="0",
                                   skipped=str(skipped), time=seconds)
    for rule_id, level in report.levels.items():
        case = ElementTree.SubElement(suite, "testcase", classname=f"mlfabric.{report.source.stack}",
                                      name=rule_id, time="0")
        found = by_rule.get(rule_id, [])
        if level == "disabled":
            ElementTree.SubElement(case, "skipped", message="disabled by policy config")
        mandatory = [v for v in found if v.mandatory]
        if mandatory:
            failure = ElementTree.SubElement(case, "failure", type=level,
                                             message=f"{len(mandatory)} violation(s) of {rule_id}")
            failure.text = "\n".join(f"{v.urn or 'stack'}: {v.message} (remediation: {v.remediation})" for v in mandatory)
        advisory = [v for v in found if not v.mandatory]
        if advisory:
            out = ElementTree.SubElement(case, "system-out")
            out.text = "\n".join(f"advisory: {v.urn or 'stack'}: {v.message}" for v in advisory)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def render(report: CheckReport, fmt: OutputFormat, output: Path | None) -> None:
    """Write the report in ``fmt`` to ``output`` (or stdout)."""
    if fmt is OutputFormat.text:
        if output is None:
            render_text(report)
        else:
            with output.open("w") as handle:
                render_text(report, handle)
        return
    if fmt is OutputFormat.junit:
        text = to_junit(report)
    else:
        text = json.dumps(to_json(report) if fmt is OutputFormat.json else to_sarif(report), indent=2, default=str) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


# --- README table ----------------------------------------------------------------------------------------


def _levels_by_environment() -> dict[str, dict[str, str]]:
    """Rule id -> environment -> effective enforcement, from policies/config/<env>.json."""
    from mlfabric.policies.rules import POLICIES

    directory = config_dir()
    table: dict[str, dict[str, str]] = {p.name: {} for p in POLICIES}
    for environment in ("dev", "staging", "prod"):
        path = directory / f"{environment}.json"
        config = load_pack_config(path) if path.is_file() else PackConfig()
        for policy in POLICIES:
            table[policy.name][environment] = config.enforcement(policy)
    return table


def rules_markdown() -> str:
    """The README's policy table: id, clouds, what it checks, enforcement per environment."""
    from mlfabric.policies.rules import POLICIES, rules_per_cloud

    levels = _levels_by_environment()
    counts = rules_per_cloud()
    lines = [
        f"{len(POLICIES)} rules (AWS {counts['aws']}, GCP {counts['gcp']}, Azure {counts['azure']}; a "
        "cross-cloud rule counts for each of its clouds). Enforcement is per environment, from "
        "`policies/config/<env>.json` (dev / staging / prod).",
        "",
        "| Rule | Clouds | What it checks | Enforcement (dev / staging / prod) |",
        "|---|---|---|---|",
    ]
    for policy in POLICIES:
        info = policy.info
        clouds = ", ".join({"aws": "AWS", "gcp": "GCP", "azure": "Azure"}[c] for c in info.clouds)
        what = info.description.replace("|", "\\|")
        enforcement = " / ".join(levels[info.id][e] for e in ("dev", "staging", "prod"))
        lines.append(f"| `{info.id}` | {clouds} | {what} | {enforcement} |")
    return "\n".join(lines) + "\n"


# --- CLI ---------------------------------------------------------------------------------------------------


def _fail(problems: list[str]) -> typer.Exit:
    for line in problems:
        print(line, file=sys.stderr)
    return typer.Exit(EXIT_USAGE)


def check_command(
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="Stack name: stacks/Pulumi.<STACK>.yaml.",
                                              show_default=False)] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="A stack file anywhere on disk.",
                                              show_default=False)] = None,
    plan_json: Annotated[Path | None, typer.Option("--plan", help="Check what `mlfabric plan --json` wrote.",
                                                   show_default=False)] = None,
    state: Annotated[Path | None, typer.Option("--state", help="Check a `pulumi stack export` (deployed inputs).",
                                               show_default=False)] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Policy config (default: "
                                                "policies/config/<environment>.json).", show_default=False)] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = OutputFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.",
                                                show_default=False)] = None,
) -> None:
    """Evaluate the CrossGuard policy pack offline: exit 0 clean, 1 mandatory violations, 2 bad input."""
    given = [name for name, value in (("-s/--stack", stack), ("--file", file), ("--plan", plan_json),
                                      ("--state", state)) if value is not None]
    if len(given) != 1:
        raise _fail(["give exactly one of -s/--stack STACK, --file FILE, --plan PLAN.json or --state EXPORT.json"
                     + (f" (got {', '.join(given)})" if given else "")])
    try:
        if plan_json is not None:
            source = source_from_plan_json(plan_json)
        elif state is not None:
            source = source_from_state(state)
        else:
            source = source_from_stack(stack, file)
        report = check_source(source, config)
    except UsageError as error:
        raise _fail(error.problems) from None
    render(report, output_format, output)
    raise typer.Exit(report.exit_code)


def diff_command(
    before: Annotated[Path, typer.Argument(help="Plan JSON (or snapshot/stack export) before the change.")],
    after: Annotated[Path, typer.Argument(help="Plan JSON (or snapshot/stack export) after the change.")],
    output_format: Annotated[str, typer.Option("--format", help="text, markdown or json.")] = "text",
) -> None:
    """Show what a change adds, removes (without alias) and changes, resource by resource (URN)."""
    from mlfabric import diff

    if output_format not in ("text", "markdown", "json"):
        raise _fail([f"--format: must be text, markdown or json (got {output_format!r})"])
    try:
        result = diff.diff_files(before, after)
    except UsageError as error:
        raise _fail(error.problems) from None
    sys.stdout.write(diff.render(result, output_format))


def register(app: typer.Typer) -> None:
    """Add `check` and `diff` to the mlfabric CLI."""
    app.command("check")(check_command)
    app.command("diff")(diff_command)
