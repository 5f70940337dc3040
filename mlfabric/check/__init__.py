"""``mlfabric check``: the CrossGuard pack's own policy objects, evaluated offline.

The pack (``mlfabric.policies.rules.POLICIES``) is what ``pulumi preview --policy-pack policies`` loads; here
each policy's ``validate`` is called directly with real ``pulumi_policy.ResourceValidationArgs`` /
``StackValidationArgs`` built from recorded resources, so offline and engine verdicts come from the
same code. Resources come from an offline plan (``-s STACK`` / ``--file``), from plan JSON
(``--plan``, what ``mlfabric plan --json`` wrote, possibly edited by a reviewer) or from a
``pulumi stack export`` (``--state``, each resource's inputs: audit a live stack without the engine).

Policy config is the file ``pulumi preview --policy-pack-config`` takes: rule id (or ``all``) ->
enforcement level, or an object with ``enforcementLevel`` and the rule's properties. By default the
stack's environment picks ``policies/config/<env>.json``: the checkout's first, else the installed pack's.

Exit codes: 0 clean (advisory findings allowed), 1 mandatory violations, 2 bad spec or usage.

One module per idea:

- ``config``: policy config files — loading, checking against the rules' schemas, defaults;
- ``sources``: the resources to check — offline plan, plan JSON, stack export -> :class:`Source`;
- ``runner``: calling each policy's ``validate`` -> :class:`CheckReport`;
- ``formats``: the report as text, JSON, SARIF or JUnit;
- ``rules_table``: the README's policy table (``mlfabric.reference``);
- ``command``: the ``check`` CLI command (``diff`` lives in :mod:`mlfabric.diff`).
"""

from __future__ import annotations

from mlfabric.check.command import check_command, register
from mlfabric.check.config import (
    LEVELS,
    PackConfig,
    RuleSetting,
    config_dir,
    config_for_environment,
    load_pack_config,
    pack_config_dir,
    parse_pack_config,
)
from mlfabric.check.formats import (
    INFORMATION_URI,
    REPORT_FORMAT,
    SARIF_SCHEMA,
    OutputFormat,
    render,
    render_text,
    sarif_level,
    to_json,
    to_junit,
    to_sarif,
)
from mlfabric.check.rules_table import rules_markdown
from mlfabric.check.runner import CheckReport, Violation, check_plan, check_source, run_pack
from mlfabric.check.sources import Source, source_from_plan, source_from_plan_json, source_from_stack, source_from_state
from mlfabric.cli_options import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

EXIT_VIOLATIONS = EXIT_FINDINGS

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_VIOLATIONS",
    "INFORMATION_URI",
    "LEVELS",
    "REPORT_FORMAT",
    "SARIF_SCHEMA",
    "CheckReport",
    "OutputFormat",
    "PackConfig",
    "RuleSetting",
    "Source",
    "Violation",
    "check_command",
    "check_plan",
    "check_source",
    "config_dir",
    "config_for_environment",
    "load_pack_config",
    "pack_config_dir",
    "parse_pack_config",
    "register",
    "render",
    "render_text",
    "rules_markdown",
    "run_pack",
    "sarif_level",
    "source_from_plan",
    "source_from_plan_json",
    "source_from_stack",
    "source_from_state",
    "to_json",
    "to_junit",
    "to_sarif",
]
