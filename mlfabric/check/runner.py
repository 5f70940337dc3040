"""Running the pack: every policy's own ``validate`` called with real ``pulumi_policy`` argument objects.

``ResourceValidationArgs`` / ``StackValidationArgs`` are built from recorded resources, with props
wrapped as the analyzer wraps them, so offline and engine verdicts come from the same code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlfabric.check.config import PackConfig, config_for_environment, load_pack_config
from mlfabric.check.sources import Source, source_from_plan
from mlfabric.cli_options import EXIT_FINDINGS, EXIT_OK

if TYPE_CHECKING:
    from pulumi_policy import Policy, PolicyResource, ResourceValidationPolicy

    from mlfabric.plan import Plan, ResourceRecord

ReportViolation = Callable[[str, str | None], None]


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
    # Rules of other clouds than the stack's: not run, reported as skipped with this reason.
    other_clouds: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if not v.mandatory]

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.mandatory else EXIT_OK

    @property
    def applicable(self) -> list[str]:
        """Rules that apply to the stack's cloud (every rule when the cloud is unknown)."""
        return [rule for rule in self.levels if rule not in self.other_clouds]

    @property
    def evaluated(self) -> list[str]:
        """Rules that ran: they apply to the stack's cloud and the policy config does not disable them."""
        return [rule for rule in self.applicable if self.levels[rule] != "disabled"]

    def skip_reason(self, rule_id: str) -> str | None:
        """Why ``rule_id`` gave no verdict on this stack (None when it did)."""
        if rule_id in self.other_clouds:
            return self.other_clouds[rule_id]
        if self.levels.get(rule_id) == "disabled":
            return "disabled by policy config"
        return self.not_applicable.get(rule_id)

    def summary(self) -> dict[str, Any]:
        """Rule and resource counts; resources as ``mlfabric.plan.ResourceCounts`` counts them."""
        return {
            "rules": len(self.levels),
            "rules_applicable": len(self.applicable),
            "rules_evaluated": len(self.evaluated),
            **self.source.counts().to_json(),
            "mandatory_violations": len(self.mandatory),
            "advisory_violations": len(self.advisory),
            "plan_seconds": round(self.source.plan_seconds, 3),
            "policy_seconds": round(self.policy_seconds, 3),
        }


def relative_to_cwd(path: str) -> str:
    """``path`` relative to the working directory when it is below it (as reports show paths)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _provider_urn(reference: str) -> str:
    # A provider reference is "<provider urn>::<provider id>".
    return reference.rsplit("::", 1)[0] if reference else ""


class _Inputs:
    """The pulumi_policy argument objects for recorded resources, built once per check."""

    def __init__(self, records: Sequence[ResourceRecord]) -> None:
        from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions

        from mlfabric.compat import unknown_checking_proxy

        self.records = list(records)
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
        self.providers = self._providers()
        self.stack_resources: list[PolicyResource] = self._stack_resources()

    def _providers(self) -> dict[str, Any]:
        from pulumi_policy import PolicyProviderResource

        by_urn = {r.urn: r for r in self.records}
        providers: dict[str, Any] = {}
        for record in self.records:
            provider = by_urn.get(_provider_urn(record.provider))
            providers[record.urn] = (
                PolicyProviderResource(provider.type, self.props[provider.urn], provider.urn, provider.name)
                if provider
                else None
            )
        return providers

    def _stack_resources(self) -> list[PolicyResource]:
        from pulumi_policy import PolicyResource

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
        return list(stack_resources.values())


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        async def wait() -> None:
            await result

        asyncio.run(wait())


def _for_resource(report: ReportViolation, urn: str) -> ReportViolation:
    """A resource policy's report_violation: the URN is always the resource's (as in the engine)."""

    def report_violation(message: str, _urn: str | None = None) -> None:
        report(message, urn)

    return report_violation


class _Run:
    """One check: the source, its argument objects, the stack tags, and the violations found so far."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.inputs = _Inputs(source.resources)
        self.by_urn = {r.urn: r for r in source.resources}
        self.stack_tags = {"pulumi:project": source.project, "pulumi:runtime": "python"}
        self.violations: list[Violation] = []
        self.not_applicable: dict[str, str] = {}

    def reporter(self, policy: Policy, level: str) -> ReportViolation:
        """The report_violation handed to ``policy``: records a Violation at ``level``."""
        section = getattr(getattr(policy, "info", None), "section", "") or ""

        def report(message: str, urn: str | None) -> None:
            record = self.by_urn.get(urn) if urn else None
            self.violations.append(Violation(
                rule_id=policy.name,
                title=policy.display_name or policy.name,
                severity=policy.severity.value if policy.severity else "medium",
                enforcement=level,
                message=message or policy.description,
                remediation=policy.remediation_steps or "",
                urn=urn,
                resource_type=record.type if record else None,
                resource_name=record.name if record else None,
                section=section,
            ))

        return report

    def run_policy(self, policy: Policy, level: str, properties: dict[str, Any]) -> None:
        """Call ``policy``'s validate; a rule that crashes is a violation, not a silent pass."""
        from mlfabric.compat import NotApplicableError

        report = self.reporter(policy, level)
        try:
            self._validate(policy, properties, report)
        except NotApplicableError as error:
            self.not_applicable[policy.name] = error.reason or "not applicable"
        except Exception as error:
            report(f"the rule failed to run: {type(error).__name__}: {error}", None)

    def _validate(self, policy: Policy, properties: dict[str, Any], report: ReportViolation) -> None:
        from pulumi_policy import ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy

        if isinstance(policy, StackValidationPolicy):
            _run(policy.validate(StackValidationArgs(self.inputs.stack_resources, properties, self.stack_tags), report))
        elif isinstance(policy, ResourceValidationPolicy):
            self._validate_resources(policy, properties, report)

    def _validate_resources(self, policy: ResourceValidationPolicy, properties: dict[str, Any],
                            report: ReportViolation) -> None:
        from pulumi_policy import ResourceValidationArgs

        inputs = self.inputs
        matches = getattr(policy, "matches", None)
        for record in self.source.resources:
            if matches is not None and not matches(record.type):
                continue
            args = ResourceValidationArgs(record.type, inputs.props[record.urn], record.urn, record.name,
                                          inputs.options[record.urn], inputs.providers[record.urn],
                                          properties, self.stack_tags)
            _run(policy.validate(args, _for_resource(report, record.urn)))


def cloud_reason(policy: Policy, cloud: str | None) -> str | None:
    """Why ``policy`` does not apply to a stack on ``cloud`` (None when it does, or when either the
    stack's cloud or the rule's clouds are unknown: then the rule runs)."""
    clouds = tuple(getattr(getattr(policy, "info", None), "clouds", ()) or ())
    if not cloud or not clouds or cloud in clouds:
        return None
    return f"applies to {' and '.join(clouds)} stacks only"


def run_pack(source: Source, config: PackConfig, policies: Sequence[Policy] | None = None) -> CheckReport:
    """Call the ``validate`` of every policy that applies to the source's cloud; collect violations."""
    from mlfabric.policies.rules import POLICIES

    pack = list(policies if policies is not None else POLICIES)
    started = time.perf_counter()
    run = _Run(source)
    levels = {p.name: config.enforcement(p) for p in pack}
    other_clouds = {p.name: reason for p in pack if (reason := cloud_reason(p, source.cloud)) is not None}
    for policy in pack:
        if levels[policy.name] != "disabled" and policy.name not in other_clouds:
            run.run_policy(policy, levels[policy.name], config.properties(policy.name))
    return CheckReport(source, relative_to_cwd(str(config.path)) if config.path else None, levels, run.violations,
                       run.not_applicable, time.perf_counter() - started, other_clouds)


def check_plan(plan: Plan, config_path: Path | None = None, plan_seconds: float = 0.0) -> CheckReport:
    """Check an in-memory plan under its environment's policy config (or ``config_path``)."""
    return check_source(source_from_plan(plan, plan_seconds), config_path)


def check_source(source: Source, config_path: Path | None = None) -> CheckReport:
    """Check resources under their environment's policy config (or ``config_path``)."""
    return run_pack(source, load_pack_config(config_path or config_for_environment(source.environment)))
