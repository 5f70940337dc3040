"""Reading Pulumi stack files (``stacks/Pulumi.<stack>.yaml``) the way the engine would.

The spec lives under ``config:`` -> ``mlfabric:platform``; every other key is handed to the
program's config too. Encrypted values (``secure: v1:...``) cannot be decrypted offline: they
become placeholder secrets, and the plan says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlfabric.components.spec import SPEC_CONFIG_KEY
from mlfabric.errors import UsageError

SECRET_PLACEHOLDER = "offline-placeholder-secret"


@dataclass(frozen=True)
class StackFile:
    """One stack file, its config as the engine would pass it, and what was replaced offline."""

    path: Path
    stack: str
    config: dict[str, Any]
    secret_keys: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)

    @property
    def spec_data(self) -> Any:
        return self.config.get(SPEC_CONFIG_KEY)

    def runtime_config(self) -> dict[str, str]:
        """Config as `pulumi.runtime.set_all_config` takes it: objects JSON-encoded, scalars as strings."""
        return {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in self.config.items()
        }


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest directory (from ``start`` upwards) that holds Pulumi.yaml, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return here


def stack_dir(project_dir: Path) -> Path:
    """``stackConfigDir`` of Pulumi.yaml (``stacks`` in mlfabric), relative to the project."""
    pulumi_yaml = project_dir / "Pulumi.yaml"
    if pulumi_yaml.is_file():
        try:
            data = yaml.safe_load(pulumi_yaml.read_text()) or {}
        except yaml.YAMLError:
            data = {}
        if isinstance(data, dict) and isinstance(data.get("stackConfigDir"), str):
            return project_dir / str(data["stackConfigDir"])
    return project_dir / "stacks"


def known_stacks(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in stack_dir(project_dir).glob("Pulumi.*.yaml"))


def resolve(stack: str | None, file: Path | None, project_dir: Path | None = None) -> Path:
    """The stack file named by ``-s STACK`` or ``--file FILE`` (exactly one of them)."""
    if (stack is None) == (file is None):
        raise UsageError(["give exactly one of -s/--stack STACK or --file FILE"])
    if file is not None:
        if not file.is_file():
            raise UsageError([f"{file}: no such file"])
        return file
    project = project_dir or find_project_dir()
    path = stack_dir(project) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        stacks = ", ".join(known_stacks(project)) or "none"
        raise UsageError([f"stack {stack!r}: no stack file {path} (known stacks: {stacks})"])
    return path


def _replace_secrets(value: Any, where: str, found: list[str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            found.append(where)
            return SECRET_PLACEHOLDER
        return {k: _replace_secrets(v, f"{where}.{k}", found) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secrets(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    return value


def load(path: Path) -> StackFile:
    """Parse a stack file; every problem is a UsageError line naming the file."""
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError([f"{path}: cannot read ({error.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or "syntax error"
        raise UsageError([f"{where}: not valid YAML ({problem})"]) from None
    if not isinstance(data, dict):
        raise UsageError([f"{path}: must be a mapping with a config: section (got {type(data).__name__})"])
    config = data.get("config")
    if not isinstance(config, dict):
        raise UsageError([f"{path}: config: must be a mapping holding {SPEC_CONFIG_KEY} (got {config!r})"])
    if SPEC_CONFIG_KEY not in config:
        raise UsageError([f"{path}: config.{SPEC_CONFIG_KEY}: missing (the spec lives under this key)"])
    placeholders: list[str] = []
    config = {key: _replace_secrets(value, key, placeholders) for key, value in config.items()}
    secret_keys = sorted({p.split(".")[0].split("[")[0] for p in placeholders})
    name = path.name
    stack = name[len("Pulumi."):-len(".yaml")] if name.startswith("Pulumi.") and name.endswith(".yaml") else path.stem
    return StackFile(path, stack, config, secret_keys, placeholders)
