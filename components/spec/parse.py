"""Parsing raw spec data and turning pydantic's errors into one line per problem."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from mlfabric.components.spec.base import SPEC_CONFIG_KEY, SpecError, SpecProblem
from mlfabric.components.spec.defaults import nested_model
from mlfabric.components.spec.platform import PlatformSpec

# --- parsing and errors --------------------------------------------------------------------------

# A value is quoted at most this many characters in a message, then elided with its length.
MAX_QUOTED: Final = 120


def _format_path(loc: Iterable[str | int]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself is wrong", not a field
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = part if len(part) <= MAX_QUOTED else f"{part[:MAX_QUOTED - 3]}... ({len(part)} characters)"
            path += f".{name}" if path else name
    return path or "(spec)"


def short_repr(value: Any) -> str:
    """``repr(value)`` of at most ~MAX_QUOTED characters: a 100 kB value never makes a 100 kB line."""
    if isinstance(value, (dict, list)) and len(value) > MAX_QUOTED:
        # repr of a huge container costs more than the message is worth
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, str):
        text = repr(value[:MAX_QUOTED])
        if len(value) <= MAX_QUOTED and len(text) <= MAX_QUOTED:
            return text
        return f"{text[:MAX_QUOTED - 3]}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else f"{text[:MAX_QUOTED - 3]}... ({len(text)} characters)"


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


Location = tuple[str | int, ...]


def _clean_loc(loc: Iterable[str | int]) -> Location:
    return tuple(part for part in loc if part != "[key]")


def located_errors(error: ValidationError) -> list[tuple[Location, str]]:
    """Each problem with the location it is about: ``(loc, "path.to.field: what is wrong (got X)")``."""
    lines: list[tuple[Location, str]] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, SpecProblem):
            lines.extend((_clean_loc(loc + sub), _bounded(f"{_format_path(loc + sub)}: {message}"))
                         for sub, message in cause.problems)
            continue
        where = _clean_loc(loc)
        if kind == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc[:-1]))
            lines.append((where, f"{_format_path(loc)}: unknown key (allowed: {allowed})"))
        elif kind == "missing":
            lines.append((where, f"{_format_path(loc)}: required field is missing"))
        elif kind == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            lines.append((where, f"{_format_path(loc)}: must be one of {expected} (got {short_repr(item['input'])})"))
        else:
            message = str(cause) if isinstance(cause, ValueError) else item["msg"]
            message = message[0].lower() + message[1:] if message else message
            hint = ""
            if kind == "string_type" and isinstance(item["input"], (int, float)):
                # `kubernetes_version: 1.30` is the number 1.3 in YAML, as under the engine
                hint = "; quote it in the stack file: unquoted, YAML reads it as a number"
            lines.append((where, _bounded(f"{_format_path(loc)}: {message} (got {short_repr(item['input'])}{hint})")))
    return lines


def _bounded(line: str) -> str:
    """A validator's own ``(got X)`` quotes X at most ~MAX_QUOTED characters too."""
    at = line.find(" (got ")
    if at < 0 or len(line) - at <= MAX_QUOTED + 10:
        return line
    got = line[at + len(" (got "):]
    return f"{line[:at]} (got {got[:MAX_QUOTED - 3]}... ({len(got) - 1} characters))"


def format_errors(error: ValidationError) -> list[str]:
    """One line per problem: ``path.to.field: what is wrong (got X)``."""
    return [line for _, line in located_errors(error)]


def parse_spec(data: Any) -> PlatformSpec:
    """Validate raw spec data (a dict from YAML or config); raise SpecError with every problem."""
    if not isinstance(data, Mapping):
        raise SpecError([f"{SPEC_CONFIG_KEY}: must be a mapping of spec fields (got {short_repr(data)})"])
    try:
        return PlatformSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(format_errors(error)) from None


def _replace_at(data: Any, loc: Location, value: str) -> Any:
    """A copy of ``data`` with the value at ``loc`` replaced (copying only the containers on the way)."""
    if not loc:
        return value
    head, rest = loc[0], loc[1:]
    if isinstance(data, dict) and isinstance(head, str) and head in data:
        return {**data, head: _replace_at(data[head], rest, value)}
    if isinstance(data, list) and isinstance(head, int) and 0 <= head < len(data):
        return [*data[:head], _replace_at(data[head], rest, value), *data[head + 1:]]
    return data


@dataclass(frozen=True)
class OfflineSpec:
    """A spec validated offline: placeholder secrets stood in for where a check needs their plaintext."""

    spec: PlatformSpec
    data: Any  # the raw data validated, with the stand-ins: what the offline program must be given
    skipped: list[str]  # one line per check skipped because its value is a secret


def parse_spec_offline(data: Any, secrets: Collection[Location], standins: tuple[str, ...]) -> OfflineSpec:
    """Validate a spec whose values at ``secrets`` are placeholders for encrypted values.

    A check that needs a secret's plaintext (format, length) cannot run offline: when the only
    problems are at secret locations, each such value is replaced by the next stand-in (a
    placeholder shaped like an e-mail address, a URL, ...) until the spec validates, and the check is
    listed as skipped. A problem anywhere else, or a secret no stand-in satisfies, is a SpecError.
    """
    if not secrets:
        return OfflineSpec(parse_spec(data), data, [])
    if not isinstance(data, Mapping):
        raise SpecError([f"{SPEC_CONFIG_KEY}: must be a mapping of spec fields (got {short_repr(data)})"])
    secret_set = set(secrets)
    tried: dict[Location, int] = {}
    skipped: dict[Location, str] = {}
    current = data
    while True:
        try:
            return OfflineSpec(PlatformSpec.model_validate(current), current, list(skipped.values()))
        except ValidationError as error:
            problems = located_errors(error)
        at_secret = [(loc, line) for loc, line in problems if loc in secret_set]
        if len(at_secret) < len(problems) or any(tried.get(loc, 0) >= len(standins) for loc, _ in at_secret):
            raise SpecError([line if loc not in secret_set else f"{line} (an encrypted value: offline it is a "
                             "placeholder, so use a plain value for this field)" for loc, line in problems])
        for loc, line in at_secret:
            path, _, message = line.partition(": ")
            skipped.setdefault(loc, f"{path}: encrypted value, check skipped offline ({message.split(' (got ')[0]})")
            current = _replace_at(current, loc, standins[tried.get(loc, 0)])
            tried[loc] = tried.get(loc, 0) + 1


def json_schema() -> dict[str, Any]:
    """The spec's JSON Schema (draft 2020-12), with environment defaults as x-environment-defaults."""
    schema = PlatformSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
