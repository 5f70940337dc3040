"""Reading Pulumi stack files (``stacks/Pulumi.<stack>.yaml``) and Pulumi.yaml the way the engine would.

The spec lives under ``config:`` -> ``mlfabric:platform``; every other key is handed to the
program's config too. Encrypted values (``secure: v1:...``) cannot be decrypted offline: they
become placeholder secrets, and the plan says so.

One reader for every YAML file the tool opens, with the rules the README's "How stack files are
read" section documents:

- YAML 1.2 core schema (ruamel.yaml's resolver): ``yes``/``no``/``on`` are strings, ``1:30`` is a
  string (no sexagesimal), ``0o17`` is octal; a number with a leading zero (``0777``) is refused
  because YAML 1.1 parsers read it as octal and YAML 1.2 as decimal;
- only JSON values: strings, numbers, booleans, null, lists and mappings with string keys. A plain
  date or time stays the string as written (what Pulumi passes); ``!!binary``, ``!!set``, other
  explicit tags, ``.inf`` and ``.nan`` are refused with their line;
- duplicate keys are refused with both lines; merge keys (``<<``) work as in the engine's parser;
- hostile input is bounded before it costs anything: file size, nesting depth, values after alias
  expansion (an alias bomb is refused while parsing), alias cycles;
- UTF-8 with or without a BOM, UTF-16 and UTF-32 with a BOM; anything else (or a control
  character) is refused with its byte offset and line.
"""

from __future__ import annotations

import codecs
import errno
import json
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import ScalarNode

from mlfabric.components.spec import SPEC_CONFIG_KEY
from mlfabric.errors import UsageError

SECRET_PLACEHOLDER: Final = "offline-placeholder-secret"

# Limits no real stack file comes near (the example stacks are ~2 kB, ~150 values, 6 levels deep);
# each keeps hostile input from costing more than a fraction of a second.
MAX_FILE_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 64
MAX_VALUES: Final = 50_000  # after alias expansion: what the program would really receive

# Pulumi's stack name rules: alphanumerics, '-', '_', '.', at most 100 characters; optionally
# qualified as org/stack or org/project/stack.
MAX_STACK_NAME: Final = 100
_STACK_PART = re.compile(r"^[A-Za-z0-9_.-]+$")

_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# What YAML 1.2 allows in a stream (c-printable), less the BOM handled above.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_STR: Final = "tag:yaml.org,2002:str"
_SCALAR_TAGS: Final = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
_MERGE: Final = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS: Final = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_LEGACY_OCTAL = re.compile(r"^[-+]?0[0-9_]+$")


class StackFileError(UsageError):
    """A stack file that cannot be read: one line naming the file and, where known, the line."""


@dataclass(frozen=True)
class StackFile:
    """One stack file, its config as the engine would pass it, and what was replaced offline."""

    path: Path
    stack: str
    config: dict[str, Any]
    secret_keys: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    # (config key, location inside that key's value) of every placeholder secret
    secret_locations: list[tuple[str, tuple[str | int, ...]]] = field(default_factory=list)

    @property
    def spec_data(self) -> Any:
        return self.config.get(SPEC_CONFIG_KEY)

    def spec_secret_locations(self) -> list[tuple[str | int, ...]]:
        """Where the spec holds placeholder secrets, as pydantic error locations."""
        return [loc for key, loc in self.secret_locations if key == SPEC_CONFIG_KEY]

    def runtime_config(self) -> dict[str, str]:
        """Config as `pulumi.runtime.set_all_config` takes it: objects JSON-encoded, scalars as strings."""
        return {key: value if isinstance(value, str) else json.dumps(value) for key, value in self.config.items()}


# --- bytes -> text ---------------------------------------------------------------------------------


def _line_of(data: bytes, start: int, end: int, codec: str) -> int:
    return data[start:end].decode(codec, errors="replace").count("\n") + 1


def _byte(data: bytes, offset: int) -> str:
    return f"byte 0x{data[offset]:02x}" if offset < len(data) else "truncated at the end"


def decode(data: bytes, where: str) -> str:
    """The text of a YAML file: UTF-8 (BOM optional), or UTF-16/UTF-32 with a BOM; else one line."""
    bom_len, codec = 0, "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            bom_len, codec = len(bom), name
            break
    try:
        text = data[bom_len:].decode(codec)
    except UnicodeDecodeError as error:
        offset = bom_len + error.start
        line = _line_of(data, bom_len, offset, codec)
        raise StackFileError([
            f"{where}:{line}: not {codec.upper()} text at byte offset {offset} "
            f"({_byte(data, offset)}; save the file as UTF-8)"
        ]) from None
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        index = bad.start()
        before = text[:index]
        line = before.count("\n") + 1
        column = index - (before.rfind("\n") + 1) + 1
        offset = bom_len + len(before.encode(codec))
        raise StackFileError([
            f"{where}:{line}:{column}: control character U+{ord(bad.group()):04X} at byte offset {offset} "
            "is not allowed in YAML (binary data must be base64 text in a string)"
        ])
    return text


# --- text -> JSON values ----------------------------------------------------------------------------


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    anchor: str | None
    line: int
    size: int = 1
    key: str | None = None
    key_line: int = 0
    has_key: bool = False
    key_lines: dict[str, int] = field(default_factory=dict)
    merges: list[tuple[Any, int]] = field(default_factory=list)
    merge_pending: bool = False


class _InProgress:
    """The value of an anchor whose node is still open: an alias to it is a cycle."""


class _MergeKey:
    """A plain ``<<`` key: the mappings it names are merged in (explicit keys win)."""


_IN_PROGRESS: Final = _InProgress()
_MERGE_KEY: Final = _MergeKey()


class _Reader:
    """Builds JSON values from ruamel.yaml's parse events, one event at a time, within the limits."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.yaml = YAML(typ="safe", pure=True)
        self.yaml.version = (1, 2)
        self.anchors: dict[str, tuple[Any, int] | _InProgress] = {}
        self.stack: list[_Frame] = []
        self.values = 0
        self.problems: list[str] = []
        self.documents = 0
        self.result: Any = None

    def fail(self, line: int, message: str) -> StackFileError:
        return StackFileError([f"{self.where}:{line}: {message}"])

    def count(self, size: int, line: int) -> None:
        self.values += size
        if self.values > MAX_VALUES:
            raise self.fail(line, f"too many values: more than {MAX_VALUES:,} after expanding aliases "
                                  "(an alias bomb, or a stack file far larger than any platform needs)")

    def scalar(self, event: ScalarEvent, line: int) -> Any:
        tag = None if event.tag is None or str(event.tag) == "!" else str(event.tag)
        value: str = event.value
        if tag is None:
            tag = str(self.yaml.resolver.resolve(ScalarNode, value, event.implicit))
            if tag == _TIMESTAMP:  # Pulumi passes a date or time as the string written
                return value
            if tag == "tag:yaml.org,2002:int" and _LEGACY_OCTAL.match(value):
                raise self.fail(line, f"ambiguous number {value}: YAML 1.1 reads it as octal, YAML 1.2 as "
                                      f"decimal; quote it, or write 0o{value.lstrip('+-0_') or '0'} for octal")
            if tag == _MERGE:
                return _MERGE_KEY
        elif tag == _TIMESTAMP:
            return value
        if tag == _STR:
            return value
        if tag not in _SCALAR_TAGS:
            raise self.fail(line, f"tag {_short_tag(tag)} is not supported: config values are JSON "
                                  "(strings, numbers, booleans, null, lists, mappings)")
        try:
            result = self.yaml.constructor.construct_object(ScalarNode(tag, value), deep=True)
        except (ValueError, YAMLError):
            raise self.fail(line, f"{_short(value)} is not a valid {_short_tag(tag)}") from None
        if isinstance(result, float) and not math.isfinite(result):
            raise self.fail(line, f"{value} is not a JSON number")
        return result

    def add(self, value: Any, size: int, line: int, *, scalar_key: bool) -> None:
        if not self.stack:
            self.result = value
            return
        frame = self.stack[-1]
        frame.size += size
        if isinstance(frame.container, list):
            frame.container.append(value)
            return
        if not frame.has_key:
            if value is _MERGE_KEY:
                frame.has_key, frame.merge_pending, frame.key_line = True, True, line
                return
            if not (scalar_key and isinstance(value, str)):
                raise self.fail(line, f"mapping key {_short(value)} must be a string (quote it)")
            frame.has_key, frame.key, frame.key_line = True, value, line
            return
        frame.has_key = False
        if frame.merge_pending:
            frame.merge_pending = False
            frame.merges.append((value, frame.key_line))
            return
        key = frame.key
        assert key is not None
        if key in frame.key_lines:
            self.problems.append(f"{self.where}:{frame.key_line}: duplicate key {_short(key)} "
                                 f"(first on line {frame.key_lines[key]}; YAML does not allow repeating a key)")
        else:
            frame.key_lines[key] = frame.key_line
            frame.container[key] = value

    def close(self, frame: _Frame) -> None:
        if isinstance(frame.container, dict) and frame.merges:
            for merged, line in frame.merges:
                sources = merged if isinstance(merged, list) else [merged]
                for source in sources:
                    if not isinstance(source, dict):
                        raise self.fail(line, "a merge key (<<) takes a mapping or a list of mappings")
                    for key, value in source.items():
                        frame.container.setdefault(key, value)
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (frame.container, frame.size)
        self.add(frame.container, frame.size, frame.line, scalar_key=False)

    def feed(self, events: Iterator[Any]) -> Any:
        for event in events:
            line = event.start_mark.line + 1
            if isinstance(event, DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise self.fail(line, "more than one YAML document (a stack file holds one)")
                version = getattr(event, "version", None)
                if version is not None and tuple(version) != (1, 2):
                    # the engine reads every stack file with its own rules; a directive must not change ours
                    raise self.fail(line, f"%YAML {'.'.join(map(str, version))}: stack files are read as YAML 1.2")
            elif isinstance(event, ScalarEvent):
                self.count(1, line)
                value = self.scalar(event, line)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1)
                self.add(value, 1, line, scalar_key=True)
            elif isinstance(event, CollectionStartEvent):
                self.start(event, line)
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                self.close(self.stack.pop())
            elif isinstance(event, AliasEvent):
                self.alias(event.anchor, line)
        return self.result

    def alias(self, anchor: str, line: int) -> None:
        target = self.anchors.get(anchor)
        if target is None:
            raise self.fail(line, f"alias *{anchor[:60]} names no anchor defined before it")
        if isinstance(target, _InProgress):
            raise self.fail(line, f"alias *{anchor[:60]} refers to a value that contains it (a cycle)")
        value, size = target
        self.count(size, line)
        self.add(value, size, line, scalar_key=isinstance(value, str))

    def start(self, event: CollectionStartEvent, line: int) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(line, f"nested more than {MAX_DEPTH} levels deep")
        tag = None if event.tag is None or str(event.tag) == "!" else str(event.tag)
        if tag is not None and tag not in _COLLECTION_TAGS:
            raise self.fail(line, f"tag {_short_tag(tag)} is not supported: config values are JSON "
                                  "(strings, numbers, booleans, null, lists, mappings)")
        if isinstance(event, MappingStartEvent) and tag == "tag:yaml.org,2002:seq":
            raise self.fail(line, "tag !!seq on a mapping")
        if isinstance(event, SequenceStartEvent) and tag == "tag:yaml.org,2002:map":
            raise self.fail(line, "tag !!map on a list")
        if self.stack and isinstance(self.stack[-1].container, dict) and not self.stack[-1].has_key:
            raise self.fail(line, "a mapping key must be a string, not a list or mapping")
        self.count(1, line)
        if event.anchor is not None:
            self.anchors[event.anchor] = _IN_PROGRESS
        container: dict[str, Any] | list[Any] = {} if isinstance(event, MappingStartEvent) else []
        self.stack.append(_Frame(container, event.anchor, line))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else _short(tag)


def parse_yaml(text: str, where: str) -> Any:
    """JSON values from YAML text under the rules above; StackFileError (one line each) otherwise."""
    reader = _Reader(where)
    try:
        result = reader.feed(iter(reader.yaml.parse(text)))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "syntax error"
        at = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark is not None else where
        raise StackFileError([f"{at}: not valid YAML ({problem})"]) from None
    except YAMLError as error:
        raise StackFileError([f"{where}: not valid YAML ({_short(str(error), 200)})"]) from None
    if reader.problems:
        raise StackFileError(reader.problems)
    return result


def read_yaml_file(path: Path) -> Any:
    """A YAML file's JSON values: the checks of :func:`check_regular_file`, then decode and parse."""
    check_regular_file(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise StackFileError([f"{_shown(path)}: cannot read ({error.strerror})"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise StackFileError([f"{_shown(path)}: larger than {MAX_FILE_BYTES // 1024} KiB; a stack file this size "
                              "is not a platform spec"])
    return parse_yaml(decode(data, str(_shown(path))), str(_shown(path)))


# --- paths and names --------------------------------------------------------------------------------


def _shown(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 200 else f"{text[:120]}... ({len(text)} characters)"


def check_regular_file(path: Path) -> None:
    """One line for each way a path is not a readable stack file (without opening a FIFO or device)."""
    try:
        info = path.stat()
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            raise StackFileError([f"{_shown(path)}: file name too long"]) from None
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            raise StackFileError([f"{_shown(path)}: no such file"]) from None
        raise StackFileError([f"{_shown(path)}: cannot read ({error.strerror})"]) from None
    except ValueError:  # an embedded NUL byte
        raise StackFileError([f"{_shown(path)}: not a valid file name"]) from None
    if stat.S_ISDIR(info.st_mode):
        raise StackFileError([f"{_shown(path)}: is a directory, not a stack file"])
    if not stat.S_ISREG(info.st_mode):
        raise StackFileError([f"{_shown(path)}: is not a regular file (a device, FIFO or socket)"])
    if not os.access(path, os.R_OK):
        raise StackFileError([f"{_shown(path)}: cannot read (permission denied)"])


def stack_name_problems(name: str) -> list[str]:
    """Pulumi's stack name rules, checked before the name reaches a URN or a file name."""
    shown = _short(name)
    if not name:
        return ["stack name: must not be empty"]
    if len(name) > MAX_STACK_NAME:
        return [f"stack name {shown}: at most {MAX_STACK_NAME} characters (got {len(name)})"]
    parts = name.split("/")
    if len(parts) > 3 or not all(_STACK_PART.match(part) and part.strip(".") for part in parts):
        return [f"stack name {shown}: may contain only letters, digits, '-', '_' and '.', "
                "optionally qualified as org/stack or org/project/stack"]
    return []


def stack_of(name: str) -> str:
    """The stack part of a (possibly org/project-qualified) stack name: what names Pulumi.<stack>.yaml."""
    return name.rsplit("/", 1)[-1]


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest directory (from ``start`` upwards) that holds Pulumi.yaml, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return here


def project_file(project_dir: Path) -> dict[str, Any]:
    """Pulumi.yaml read with the same reader as stack files ({} when there is none)."""
    pulumi_yaml = project_dir / "Pulumi.yaml"
    if not pulumi_yaml.is_file():
        return {}
    data = read_yaml_file(pulumi_yaml)
    return data if isinstance(data, dict) else {}


def stack_dir(project_dir: Path) -> Path:
    """``stackConfigDir`` of Pulumi.yaml (``stacks`` in mlfabric), relative to the project."""
    try:
        data = project_file(project_dir)
    except UsageError:
        data = {}
    if isinstance(data.get("stackConfigDir"), str):
        return project_dir / str(data["stackConfigDir"])
    return project_dir / "stacks"


def known_stacks(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in stack_dir(project_dir).glob("Pulumi.*.yaml"))


def resolve(stack: str | None, file: Path | None, project_dir: Path | None = None) -> Path:
    """The stack file named by ``-s STACK`` or ``--file FILE`` (exactly one of them)."""
    if (stack is None) == (file is None):
        raise UsageError(["give exactly one of -s/--stack STACK or --file FILE"])
    if file is not None:
        check_regular_file(file)
        return file
    assert stack is not None
    problems = stack_name_problems(stack)
    if problems:
        raise UsageError(problems)
    project = project_dir or find_project_dir()
    path = stack_dir(project) / f"Pulumi.{stack_of(stack)}.yaml"
    if not path.exists():
        stacks = ", ".join(known_stacks(project)) or "none"
        raise UsageError([f"stack {stack!r}: no stack file {path} (known stacks: {stacks})"])
    check_regular_file(path)
    return path


# --- the stack file ---------------------------------------------------------------------------------


def _replace_secrets(value: Any, loc: tuple[str | int, ...], found: list[tuple[str | int, ...]]) -> Any:
    # Depth is bounded by MAX_DEPTH and aliases are acyclic, so recursion is safe here.
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            found.append(loc)
            return SECRET_PLACEHOLDER
        return {k: _replace_secrets(v, (*loc, k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secrets(v, (*loc, i), found) for i, v in enumerate(value)]
    return value


def location_text(key: str, loc: tuple[str | int, ...]) -> str:
    text = key
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _stack_name_from(path: Path) -> str:
    name = path.name
    if name.startswith("Pulumi.") and name.endswith(".yaml") and len(name) > len("Pulumi..yaml"):
        return name[len("Pulumi."):-len(".yaml")]
    return path.stem


def load(path: Path) -> StackFile:
    """Parse a stack file; every problem is a UsageError line naming the file."""
    data = read_yaml_file(path)
    shown = _shown(path)
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise UsageError([f"{shown}: must be a mapping with a config: section (got {kind})"])
    config = data.get("config")
    if not isinstance(config, dict):
        got = "nothing" if config is None else f"a {type(config).__name__}"
        raise UsageError([f"{shown}: config: must be a mapping holding {SPEC_CONFIG_KEY} (got {got})"])
    if SPEC_CONFIG_KEY not in config:
        raise UsageError([f"{shown}: config.{SPEC_CONFIG_KEY}: missing (the spec lives under this key)"])
    stack = _stack_name_from(path)
    problems = stack_name_problems(stack)
    if problems:
        raise UsageError([f"{shown}: {problems[0]} (from the file name Pulumi.<stack>.yaml)"])
    locations: list[tuple[str, tuple[str | int, ...]]] = []
    replaced: dict[str, Any] = {}
    for key, value in config.items():
        found: list[tuple[str | int, ...]] = []
        replaced[key] = _replace_secrets(value, (), found)
        locations.extend((key, loc) for loc in found)
    secret_keys = sorted({key for key, _ in locations})
    placeholders = [location_text(key, loc) for key, loc in locations]
    return StackFile(path, stack, replaced, secret_keys, placeholders, locations)
