"""Parsing raw spec data and turning pydantic's errors into one line per problem."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from mlfabric.components.spec.base import SPEC_CONFIG_KEY, SpecError, SpecProblem
from mlfabric.components.spec.defaults import nested_model
from mlfabric.components.spec.platform import PlatformSpec

# --- parsing and errors --------------------------------------------------------------------------


def _format_path(loc: Iterable[str | int]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself is wrong", not a field
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(spec)"


def short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] | None = PlatformSpec
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return []
        nested = nested_model(info.annotation)
        model = nested[1] if nested else None
    return list(model.model_fields) if model else []


def format_errors(error: ValidationError) -> list[str]:
    """One line per problem: ``path.to.field: what is wrong (got X)``."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, SpecProblem):
            lines.extend(f"{_format_path(loc + sub)}: {message}" for sub, message in cause.problems)
            continue
        if kind == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc[:-1]))
            lines.append(f"{_format_path(loc)}: unknown key (allowed: {allowed})")
        elif kind == "missing":
            lines.append(f"{_format_path(loc)}: required field is missing")
        elif kind == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            lines.append(f"{_format_path(loc)}: must be one of {expected} (got {short_repr(item['input'])})")
        else:
            message = str(cause) if isinstance(cause, ValueError) else item["msg"]
            message = message[0].lower() + message[1:] if message else message
            lines.append(f"{_format_path(loc)}: {message} (got {short_repr(item['input'])})")
    return lines


def parse_spec(data: Any) -> PlatformSpec:
    """Validate raw spec data (a dict from YAML or config); raise SpecError with every problem."""
    if not isinstance(data, Mapping):
        raise SpecError([f"{SPEC_CONFIG_KEY}: must be a mapping of spec fields (got {short_repr(data)})"])
    try:
        return PlatformSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(format_errors(error)) from None


def json_schema() -> dict[str, Any]:
    """The spec's JSON Schema (draft 2020-12), with environment defaults as x-environment-defaults."""
    schema = PlatformSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
