"""Report formats: a rich table (text), JSON (``mlfabric-check/1``), SARIF 2.1.0 and JUnit XML."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from xml.etree import ElementTree

from mlfabric.check.runner import CheckReport, Violation, relative_to_cwd
from mlfabric.cli_options import EXIT_OK

if TYPE_CHECKING:
    from rich.console import Console

REPORT_FORMAT: Final = "mlfabric-check/1"
SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI: Final = "https://mlfabric.dev/policies"
_SECURITY_SEVERITY: Final = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"


# --- text ----------------------------------------------------------------------------------------------


def _resource_label(v: Violation) -> str:
    if v.resource_name is None:
        return "(stack)"
    return f"{v.resource_name}\n[dim]{v.resource_type}[/dim]"


def _console(file: Any) -> Console:
    from rich.console import Console

    console = Console(file=file, width=200 if file is not None else None, no_color=file is not None)
    if file is None and not console.is_terminal:
        console = Console(width=160)  # CI logs: wide enough that rule ids and messages stay on one line
    return console


def _print_violations(console: Console, violations: list[Violation]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=True, expand=False)
    for column in ("Rule", "Level", "Resource", "Message", "Remediation"):
        table.add_column(column, overflow="fold")
    order = sorted(violations, key=lambda v: (not v.mandatory, v.rule_id, v.resource_name or ""))
    for v in order:
        level = "[red]mandatory[/red]" if v.mandatory else "[yellow]advisory[/yellow]"
        label = _resource_label(v) if v.resource_name else "(stack)"
        table.add_row(escape(v.rule_id), level, label, escape(v.message), escape(v.remediation))
    console.print(table)


def _verdict(report: CheckReport, summary: dict[str, Any]) -> str:
    timing = f"plan {summary['plan_seconds']:.2f}s, policies {summary['policy_seconds']:.2f}s"
    if report.mandatory:
        counts = f"{len(report.mandatory)} mandatory, {len(report.advisory)} advisory violations"
        return f"[red]✗ {counts}[/red] ({timing})"
    if report.advisory:
        return f"[yellow]✓ no mandatory violations; {len(report.advisory)} advisory[/yellow] ({timing})"
    return f"[green]✓ no violations[/green] ({timing})"


def render_text(report: CheckReport, file: Any = None) -> None:
    """A rich table of violations (rule id, resource, message, remediation) and a summary line."""
    from rich.markup import escape

    console = _console(file)
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
        _print_violations(console, report.violations)
    console.print(_verdict(report, s))


# --- JSON ----------------------------------------------------------------------------------------------


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


# --- SARIF ---------------------------------------------------------------------------------------------


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


def sarif_level(enforcement: str) -> str:
    return {"mandatory": "error", "remediate": "error", "advisory": "warning"}.get(enforcement, "none")


def _sarif_rule(rule_id: str, level: str, info: Any) -> dict[str, Any]:
    """One entry of tool.driver.rules; ``info`` is the pack's RuleInfo (None for a rule not in the pack)."""
    severity = info.severity.value if info else "medium"
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": info.title if info else rule_id},
        "fullDescription": {"text": info.description if info else rule_id},
        "help": {"text": info.remediation if info else "",
                 "markdown": f"**Remediation:** {info.remediation}" if info else ""},
        "helpUri": f"{INFORMATION_URI}#{rule_id}",
        "defaultConfiguration": {"level": sarif_level(level), "enabled": level != "disabled"},
        "properties": {
            "tags": ["security", "iac", "pulumi", *(info.clouds if info else ())],
            "precision": "high",
            "security-severity": _SECURITY_SEVERITY.get(severity, "5.5"),
            "severity": severity,
            "enforcement": level,
        },
    }


def _sarif_result(report: CheckReport, v: Violation, rule_ids: list[str], uri: str,
                  sections: dict[str, int]) -> dict[str, Any]:
    line = sections.get(v.section) or sections.get("mlfabric:platform") or 1
    resource = f"{v.resource_name} ({v.resource_type})" if v.resource_name else f"stack {report.source.stack}"
    fingerprint = hashlib.sha256(f"{v.rule_id}|{v.urn}|{v.message}".encode()).hexdigest()[:32]
    return {
        "ruleId": v.rule_id,
        "ruleIndex": rule_ids.index(v.rule_id) if v.rule_id in report.levels else 0,
        "level": sarif_level(v.enforcement),
        "message": {"text": f"{resource}: {v.message}. Remediation: {v.remediation}"},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}},
            "logicalLocations": [{"name": v.resource_name or report.source.stack,
                                  "fullyQualifiedName": v.urn or f"stack:{report.source.stack}",
                                  "kind": "resource"}],
        }],
        "partialFingerprints": {"mlfabricViolation/v1": fingerprint},
    }


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """SARIF 2.1.0: every rule of the pack in tool.driver.rules, one result per violation."""
    from mlfabric.policies.rules import PACK_VERSION, RULES

    extra = [rid for rid in report.levels if rid not in RULES]
    rule_ids = [*RULES, *extra]
    rules = [_sarif_rule(rule_id, report.levels.get(rule_id, "disabled"), RULES.get(rule_id)) for rule_id in rule_ids]
    uri = relative_to_cwd(report.source.path) if report.source.path else "Pulumi.yaml"
    sections = _section_lines(report.source.path) if report.source.path else {}
    results = [_sarif_result(report, v, rule_ids, uri, sections) for v in report.violations]
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


# --- JUnit ---------------------------------------------------------------------------------------------


def _junit_case(suite: ElementTree.Element, stack: str, rule_id: str, level: str, found: list[Violation]) -> None:
    """One rule's test case: skipped when disabled, failed by mandatory violations, advisory ones as output."""
    case = ElementTree.SubElement(suite, "testcase", classname=f"mlfabric.{stack}", name=rule_id, time="0")
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
        _junit_case(suite, report.source.stack, rule_id, level, by_rule.get(rule_id, []))
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


# --- writing -------------------------------------------------------------------------------------------


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
        document = to_json(report) if fmt is OutputFormat.json else to_sarif(report)
        text = json.dumps(document, indent=2, default=str) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
