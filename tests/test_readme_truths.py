"""What the README states about the code matches the code: commands, personas, accelerators, rule
counts, generated sections (the generated ones are also checked by ``make docs-check``)."""

from __future__ import annotations

import re

import typer

from mlfabric.cli import app
from mlfabric.components import catalog
from mlfabric.components.spec import BUILT_IN_PERSONAS
from mlfabric.policies.rules import RULES
from mlfabric.reference import README, rendered_readme

TEXT = README.read_text()


def _section(title: str) -> str:
    start = TEXT.index(f"\n## {title}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start:end]


def test_the_commands_table_lists_every_command_and_nothing_else() -> None:
    group = typer.main.get_group(app)
    commands = set(group.commands)
    listed = set(re.findall(r"^\| `mlfabric ([a-z-]+)", _section("Commands"), re.MULTILINE))
    assert listed == commands


def test_the_readme_names_every_built_in_persona_and_accelerator() -> None:
    for persona in BUILT_IN_PERSONAS:
        assert f"`{persona}`" in TEXT, persona
    for accelerator in catalog.ACCELERATORS:
        assert accelerator in TEXT, accelerator


def test_rule_counts_are_only_the_generated_ones_and_match_the_pack() -> None:
    stated = re.findall(r"(\d+) rules \(AWS (\d+), GCP (\d+), Azure (\d+)", TEXT)
    clouds = [sum(cloud in rule.clouds for rule in RULES.values()) for cloud in ("aws", "gcp", "azure")]
    assert stated == [(str(len(RULES)), *map(str, clouds))]
    assert not re.search(r"\| policy pack \| \d+ rules", TEXT)


def test_generated_sections_are_current() -> None:
    assert rendered_readme(TEXT) == TEXT
