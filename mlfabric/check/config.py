"""Policy config: the file ``pulumi preview --policy-pack-config`` takes, parsed and checked offline.

Rule id (or ``all``) -> enforcement level, or an object with ``enforcementLevel`` and the rule's
properties (checked against the rule's config schema). By default the stack's environment picks
``<env>.json`` from the policy pack's ``config`` folder (:func:`config_dir`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from mlfabric.errors import UsageError

if TYPE_CHECKING:
    from pulumi_policy import Policy

LEVELS: Final = ("advisory", "mandatory", "remediate", "disabled")
_JSON_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "array": (list,), "object": (dict,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float),
}


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


def _level_problem(where: str, level: Any) -> list[str]:
    if level in LEVELS:
        return []
    return [f"{where}: must be one of {', '.join(LEVELS)} (got {level!r})"]


def _property_problems(where: str, properties: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for key, prop in properties.items():
        if key not in schema:
            known = ", ".join(schema) or "none"
            problems.append(f"{where}.{key}: unknown property (known: {known})")
        else:
            problems.extend(_check_value(f"{where}.{key}", schema[key], prop))
    return problems


def _parse_rule(where: str, value: Any, schema: Mapping[str, Any]) -> tuple[RuleSetting | None, list[str]]:
    """One rule's entry: a level, or an object with ``enforcementLevel`` and properties."""
    if isinstance(value, str):
        problems = _level_problem(where, value)
        return (None if problems else RuleSetting(value)), problems
    if not isinstance(value, dict):
        return None, [f"{where}: must be an enforcement level or an object (got {value!r})"]
    level = value.get("enforcementLevel")
    problems = [] if level is None else _level_problem(f"{where}.enforcementLevel", level)
    properties = {k: v for k, v in value.items() if k != "enforcementLevel"}
    problems += _property_problems(where, properties, schema)
    return RuleSetting(level, properties), problems


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
            level_problems = _level_problem(where, value)
            problems += level_problems
            all_level = all_level if level_problems else value
        elif rule_id not in schemas:
            problems.append(f"{where}: no such rule in the mlfabric pack")
        else:
            setting, rule_problems = _parse_rule(where, value, schemas[rule_id])
            problems += rule_problems
            if setting is not None:
                rules[rule_id] = setting
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


def pack_config_dir() -> Path:
    """``config`` of the installed policy pack: package data of ``mlfabric.policies``."""
    return Path(str(resources.files("mlfabric.policies"))).resolve() / "config"


def config_dir() -> Path:
    """``policies/config`` of the project in the working directory, else of the installed pack."""
    from mlfabric import stackfile

    local = stackfile.find_project_dir() / "policies" / "config"
    if local.is_dir():
        return local
    return pack_config_dir()


def config_for_environment(environment: str | None) -> Path:
    if not environment:
        raise UsageError(["cannot tell the stack's environment: give the policy config with --config FILE"])
    path = config_dir() / f"{environment}.json"
    if not path.is_file():
        raise UsageError([f"{path}: no policy config for environment {environment!r} (give --config FILE)"])
    return path
