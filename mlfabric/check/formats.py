"""Report formats: text for logs, JSON (``mlfabric-check/1``), SARIF 2.1.0, JUnit XML and markdown.

Text fits the console's width: violations as a table when every rule id, resource name and type fits
unbroken, else as one block per violation. SARIF and JUnit speak of the rules that apply to the stack's
cloud: a rule of another cloud is a skipped JUnit case with its reason, and never a SARIF result.
"""

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
from mlfabric.cli_options import EXIT_OK, say

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
    markdown = "markdown"


# --- text ----------------------------------------------------------------------------------------------

# Message and remediation columns need this much room each before a table reads better than blocks.
_PROSE_COLUMN: Final = 30


def _console(file: Any) -> Console:
    """The report's console: the terminal's width, else ``COLUMNS`` (80 when unset); 200 for a file."""
    from rich.console import Console

    if file is not None:
        return Console(file=file, width=200, no_color=True)
    return Console()


def _ordered(violations: list[Violation]) -> list[Violation]:
    return sorted(violations, key=lambda v: (not v.mandatory, v.rule_id, v.resource_name or ""))


def _table_width(violations: list[Violation]) -> int:
    """Columns a table needs to show every rule id, resource name and type unbroken."""
    rule = max(len(v.rule_id) for v in violations)
    resource = max(max(len(v.resource_name or "(stack)"), len(v.resource_type or "")) for v in violations)
    # Five columns: their widths, two padding cells each and six borders.
    return rule + len("mandatory") + resource + 2 * _PROSE_COLUMN + 5 * 2 + 6


def _print_table(console: Console, violations: list[Violation]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=True, expand=False)
    for column in ("Rule", "Level", "Resource"):
        table.add_column(column, no_wrap=True, overflow="fold")
    for column in ("Message", "Remediation"):
        table.add_column(column, overflow="fold", min_width=_PROSE_COLUMN)
    for v in _ordered(violations):
        level = "[red]mandatory[/red]" if v.mandatory else "[yellow]advisory[/yellow]"
        label = f"{escape(v.resource_name)}\n[dim]{escape(v.resource_type or '')}[/dim]" if v.resource_name else "(stack)"
        table.add_row(escape(v.rule_id), level, label, escape(v.message), escape(v.remediation))
    console.print(table)


def _print_blocks(console: Console, violations: list[Violation]) -> None:
    """One block per violation, for widths a table does not fit: ``rule · level``, the resource,
    the message and the remediation, each wrapped at word boundaries (ids and names stay whole)."""
    for v in _ordered(violations):
        level, style = ("mandatory", "red") if v.mandatory else ("advisory", "yellow")
        console.print()
        say(console, f"{v.rule_id} · {level}", style=f"bold {style}", hang="  ")
        resource = f"{v.resource_name} ({v.resource_type})" if v.resource_name else "(stack)"
        say(console, resource, indent="  ", hang="    ")
        say(console, v.message, indent="  ", hang="  ")
        say(console, v.remediation, lead="fix: ", lead_style="dim", indent="  ", hang="       ")
    console.print()


def _print_violations(console: Console, violations: list[Violation]) -> None:
    if console.width >= _table_width(violations):
        _print_table(console, violations)
    else:
        _print_blocks(console, violations)


def _verdict(report: CheckReport, summary: dict[str, Any]) -> tuple[str, str]:
    """The last line and its style."""
    timing = f"plan {summary['plan_seconds']:.2f}s, policies {summary['policy_seconds']:.2f}s"
    if report.mandatory:
        counts = f"{len(report.mandatory)} mandatory, {len(report.advisory)} advisory violations"
        return f"✗ {counts} ({timing})", "red"
    if report.advisory:
        return f"✓ no mandatory violations; {len(report.advisory)} advisory ({timing})", "yellow"
    return f"✓ no violations ({timing})", "green"


def scope_line(report: CheckReport) -> str:
    """What the check covered: rules that apply to the stack's cloud, resources as the plan counts them."""
    source = report.source
    s = report.summary()
    cloud = source.cloud or "?"
    applies = (f"{s['rules_applicable']} of the pack's {s['rules']} apply to {cloud}" if source.cloud
               else f"the stack's cloud is unknown: all {s['rules']} ran")
    return (f"mlfabric check: stack {source.stack} ({cloud}, {source.environment or '?'}): "
            f"{s['rules_evaluated']} rules evaluated ({applies}) on {source.counts().describe()}; "
            f"config {report.config_path or 'pack defaults'}")


def render_text(report: CheckReport, file: Any = None) -> None:
    """The scope, the violations (a table when it fits the width, else one block each) and a verdict."""
    console = _console(file)
    say(console, scope_line(report), hang="  ")
    for note in report.source.notes:
        say(console, note, lead="note: ", lead_style="yellow", hang="  ")
    if report.violations:
        _print_violations(console, report.violations)
    verdict, style = _verdict(report, report.summary())
    say(console, verdict, style=style, hang="  ")


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
        "other_clouds": report.other_clouds,
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


def _sarif_overrides(report: CheckReport, rule_ids: list[str]) -> list[dict[str, Any]]:
    """This run's switched-off rules (other clouds, disabled by config), each with its reason."""
    overrides: list[dict[str, Any]] = []
    for index, rule_id in enumerate(rule_ids):
        reason = report.other_clouds.get(rule_id) or (
            "disabled by policy config" if report.levels.get(rule_id) == "disabled" else None)
        if reason:
            overrides.append({"descriptor": {"id": rule_id, "index": index},
                              "configuration": {"enabled": False, "parameters": {"reason": reason}}})
    return overrides


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """SARIF 2.1.0: results for the rules that apply to the stack's cloud only.

    ``tool.driver.rules`` keeps every rule of the pack, in pack order, on every stack: ``ruleIndex``
    then means the same rule in every upload (code scanning merges uploads of several stacks), and the
    rules of other clouds are switched off for this run in ``invocations[0].ruleConfigurationOverrides``
    with the reason, so a reader sees why they gave no result.
    """
    from mlfabric.policies.rules import PACK_VERSION, RULES

    extra = [rid for rid in report.levels if rid not in RULES]
    rule_ids = [*RULES, *extra]
    rules = [_sarif_rule(rule_id, report.levels.get(rule_id, "disabled"), RULES.get(rule_id)) for rule_id in rule_ids]
    uri = relative_to_cwd(report.source.path) if report.source.path else "Pulumi.yaml"
    sections = _section_lines(report.source.path) if report.source.path else {}
    results = [_sarif_result(report, v, rule_ids, uri, sections) for v in report.violations
               if v.rule_id not in report.other_clouds]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mlfabric", "fullName": "mlfabric CrossGuard policy pack",
                                "informationUri": INFORMATION_URI, "version": PACK_VERSION,
                                "semanticVersion": PACK_VERSION, "rules": rules}},
            "automationDetails": {"id": f"mlfabric/check/{report.source.stack}/"},
            "invocations": [{"executionSuccessful": True,
                             "ruleConfigurationOverrides": _sarif_overrides(report, rule_ids),
                             "properties": {"config": report.config_path, **report.summary()}}],
            "results": results,
        }],
    }


# --- JUnit ---------------------------------------------------------------------------------------------


def _junit_case(suite: ElementTree.Element, report: CheckReport, rule_id: str, found: list[Violation]) -> None:
    """One rule's test case: skipped (with the reason) when it gave no verdict, failed by mandatory
    violations, advisory ones as output."""
    level = report.levels[rule_id]
    case = ElementTree.SubElement(suite, "testcase", classname=f"mlfabric.{report.source.stack}", name=rule_id,
                                  time="0")
    reason = report.skip_reason(rule_id)
    if reason is not None and not found:
        ElementTree.SubElement(case, "skipped", message=reason)
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
    """JUnit XML: one test case per rule of the pack; mandatory violations fail it; a rule of another
    cloud, disabled by config or not applicable to this stack is skipped with its reason."""
    by_rule: dict[str, list[Violation]] = {}
    for v in report.violations:
        by_rule.setdefault(v.rule_id, []).append(v)
    failures = sum(1 for rid, vs in by_rule.items() if any(v.mandatory for v in vs))
    skipped = sum(1 for rid in report.levels if report.skip_reason(rid) is not None and not by_rule.get(rid))
    seconds = f"{report.policy_seconds:.3f}"
    suites = ElementTree.Element("testsuites", name="mlfabric check", tests=str(len(report.levels)),
                                 failures=str(failures), errors="0", time=seconds)
    suite = ElementTree.SubElement(suites, "testsuite", name=f"mlfabric policies: {report.source.stack}",
                                   tests=str(len(report.levels)), failures=str(failures), errors="0",
                                   skipped=str(skipped), time=seconds)
    for rule_id in report.levels:
        _junit_case(suite, report, rule_id, by_rule.get(rule_id, []))
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
    elif fmt is OutputFormat.markdown:
        from mlfabric import markdown

        text = markdown.check_markdown(report).rstrip("\n") + "\n"
    else:
        document = to_json(report) if fmt is OutputFormat.json else to_sarif(report)
        text = json.dumps(document, indent=2, default=str) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
