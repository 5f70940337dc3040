"""Generated docs: the spec reference (from the JSON Schema) in README.md and stacks/schema.json.

`python -m mlfabric.reference --write` regenerates both; `--check` (run by the test suite) fails
when either has drifted from the models, terraform-docs style.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlfabric.components.spec import ENV_DEFAULTS_KEY, ENVIRONMENTS, json_schema

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SCHEMA_FILE = ROOT / "stacks" / "schema.json"
SPEC_START, SPEC_END = "<!-- spec-reference:start -->", "<!-- spec-reference:end -->"
POLICY_START, POLICY_END = "<!-- policy-table:start -->", "<!-- policy-table:end -->"
CAPABILITY_START, CAPABILITY_END = "<!-- capability-table:start -->", "<!-- capability-table:end -->"
CALENDAR_START, CALENDAR_END = "<!-- version-calendar:start -->", "<!-- version-calendar:end -->"


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"] if p.get("type") != "null") + " (optional)"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    if kind == "object" and "additionalProperties" in prop:
        return f"map of {_type_of(prop['additionalProperties'])}"
    return str(kind)


def _default_of(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    by_env = prop.get(ENV_DEFAULTS_KEY)
    if isinstance(by_env, dict):
        return " / ".join(f"{env}: `{json.dumps(by_env[env])}`" for env in ENVIRONMENTS if env in by_env)
    if "default" in prop:
        return f"`{json.dumps(prop['default'])}`"
    # A default built by a factory (the schema cannot show it): an empty collection, or a section
    # whose own fields carry the defaults.
    if "$ref" in prop:
        return "its fields' defaults"
    return {"array": "`[]`", "object": "`{}`"}.get(str(prop.get("type")), "see description")


def _table(title: str, model: dict[str, Any]) -> list[str]:
    lines = [f"#### `{title}`", "", model.get("description", "").strip(), "",
             "| field | type | default | description |", "|---|---|---|---|"]
    required = set(model.get("required", []))
    for name, prop in model.get("properties", {}).items():
        description = prop.get("description", "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{name}` | {_type_of(prop)} | {_default_of(prop, name in required)} | {description} |")
    return [*lines, ""]


def spec_reference() -> str:
    """Markdown tables for the root spec and every nested model, in schema order."""
    schema = json_schema()
    lines = _table("PlatformSpec (root)", schema)
    for name, model in schema.get("$defs", {}).items():
        if model.get("type") == "object":
            lines += _table(name, model)
    return "\n".join(lines).rstrip() + "\n"


def policy_table() -> str:
    """The README policy table: every rule of the pack with its enforcement per environment."""
    from mlfabric.check.rules_table import rules_markdown

    return rules_markdown()


def capability_table() -> str:
    """The README capability table: what each cloud does with each spec field (its kit's rows)."""
    from mlfabric.components.capabilities import spec_fields
    from mlfabric.components.catalog import CLOUD_TITLES, CLOUDS
    from mlfabric.components.kit import kit_for

    cells: dict[tuple[str, str], dict[str, str]] = {}
    for cloud in CLOUDS:
        for row in kit_for(cloud).capabilities:
            mark = "yes" if row.status == "honoured" else "**refused**"
            cells.setdefault((row.field, row.case), {})[cloud] = f"{mark}: {row.note}".replace("|", "\\|")
    order = {name: index for index, name in enumerate(spec_fields())}
    lines = ["| Field | Case | " + " | ".join(CLOUD_TITLES[c] for c in CLOUDS) + " |",
             "|---|---|" + "---|" * len(CLOUDS)]
    for (field, case), by_cloud in sorted(cells.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][1])):
        cloud_cells = " | ".join(by_cloud.get(cloud, "—") for cloud in CLOUDS)
        lines.append(f"| `{field}` | {case or 'always'} | {cloud_cells} |")
    return "\n".join(lines) + "\n"


def calendar_table() -> str:
    """The README's Kubernetes version calendars: every cloud's minor versions and support dates."""
    from mlfabric.components.catalog import CLOUDS
    from mlfabric.components.kit import kit_for

    lines = ["| Service | Version | Released | Standard support until | Extended support until | Default |",
             "|---|---|---|---|---|---|"]
    sources: list[str] = []
    for cloud in CLOUDS:
        load = kit_for(cloud).kubernetes_calendar
        if load is None:
            continue
        calendar = load()
        sources.append(f"{calendar.service}: {calendar.source} (as of {calendar.as_of})")
        for row in reversed(calendar.releases):
            extended = str(row.end_of_extended) if row.end_of_extended else "none"
            default = "yes" if row.minor == calendar.default else ""
            lines.append(f"| {calendar.service} | {row.minor} | {row.released} | {row.end_of_standard} | "
                         f"{extended} | {default} |")
    return "\n".join([*lines, "", *(f"- {source}" for source in sources)]) + "\n"


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


def _splice(text: str, start: str, end: str, body: str) -> str:
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{body}{end}{tail}"


def rendered_readme(current: str) -> str:
    text = _splice(current, SPEC_START, SPEC_END, spec_reference())
    if POLICY_START in text:
        text = _splice(text, POLICY_START, POLICY_END, policy_table())
    if CALENDAR_START in text:
        text = _splice(text, CALENDAR_START, CALENDAR_END, calendar_table())
    if CAPABILITY_START in text:
        text = _splice(text, CAPABILITY_START, CAPABILITY_END, capability_table())
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate README sections and stacks/schema.json")
    mode.add_argument("--check", action="store_true", help="exit 1 when they have drifted")
    args = parser.parse_args(argv)
    readme = README.read_text()
    expected_readme, expected_schema = rendered_readme(readme), schema_text()
    if args.write:
        README.write_text(expected_readme)
        SCHEMA_FILE.write_text(expected_schema)
        return 0
    stale = [str(p.relative_to(ROOT)) for p, now, want in
             ((README, readme, expected_readme), (SCHEMA_FILE, SCHEMA_FILE.read_text(), expected_schema)) if now != want]
    if stale:
        print(f"out of date: {', '.join(stale)} — run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
