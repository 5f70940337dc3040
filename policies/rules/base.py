"""The machinery every rule module shares: rule metadata, the two policy classes, prop helpers.

A rule is a plain function plus metadata. Resource rules are ``check(resource_type, props, config)
-> messages``; stack rules are ``check(resources, config) -> [(message, urn)]``. ``props`` are the
engine's camelCase inputs (numbers may arrive as floats, strings may stand for booleans); nothing
here imports mlfabric, so the pack runs alone under ``pulumi preview --policy-pack policies``.

``resource_policy`` / ``stack_policy`` wrap a function into a real ``pulumi_policy`` policy whose
name is the rule's stable id. The wrapper fills in the rule's config defaults before calling the
function, so a rule behaves the same whether the engine hands it a config or not. ``flag_rule``
builds a whole resource rule from settings that must (not) be on (``must_be_true``, ``must_be_set``...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

ADVISORY = EnforcementLevel.ADVISORY
MANDATORY = EnforcementLevel.MANDATORY
DISABLED = EnforcementLevel.DISABLED
LOW, MEDIUM, HIGH, CRITICAL = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL

ResourceCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[Sequence[PolicyResource], Mapping[str, Any]], Iterable[tuple[str, str | None]]]

_AZURE = re.compile(r"^azure-native:([A-Za-z0-9]+):([A-Za-z0-9]+)$")


@dataclass(frozen=True)
class RuleInfo:
    """What a rule is about: the metadata the pack, the README table and SARIF all show."""

    id: str
    title: str
    description: str
    remediation: str
    severity: Severity
    enforcement: EnforcementLevel
    clouds: tuple[str, ...]
    # Type tokens the rule reads. azure-native tokens also match their API-versioned twins
    # (azure-native:storage/v20240101:StorageAccount); "re:" entries are regular expressions.
    resource_types: tuple[str, ...]
    # Spec section a violation points at (stack-file line in SARIF): storage, training, ...
    section: str
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    kind: str = "resource"  # or "stack"

    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config.items() if "default" in schema}


def type_pattern(token: str) -> re.Pattern[str]:
    """A regex for a type token; azure-native tokens accept an API-version suffix on the module."""
    if token.startswith("re:"):
        return re.compile(token[3:])
    azure = _AZURE.match(token)
    if azure:
        module, kind = azure.groups()
        return re.compile(rf"^azure-native:{module}(/v[0-9a-z]+)?:{kind}$")
    return re.compile(rf"^{re.escape(token)}$")


P = ParamSpec("P")


class ByType(Generic[P]):
    """One small check per resource type: a rule that reads each cloud's resource its own way.

    Exact tokens are a dict lookup; azure-native and "re:" tokens match like ``TypeMatcher`` (any
    API version), tried in the order given. A type with no entry yields nothing.
    """

    def __init__(self, checks: Mapping[str, Callable[P, Iterable[str]]]) -> None:
        self._exact = {token: check for token, check in checks.items() if not token.startswith(("re:", "azure-native:"))}
        self._patterns = [(type_pattern(token), check) for token, check in checks.items()
                          if token.startswith(("re:", "azure-native:"))]

    def check(self, resource_type: str, /, *args: P.args, **kwargs: P.kwargs) -> Iterable[str]:
        found = self._exact.get(resource_type)
        if found is None:
            found = next((check for pattern, check in self._patterns if pattern.match(resource_type)), None)
        return found(*args, **kwargs) if found is not None else ()


class TypeMatcher:
    """Does a type token belong to a rule? Exact tokens are a set lookup; patterns a regex."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.patterns: list[re.Pattern[str]] = []
        for token in tokens:
            if token.startswith(("re:", "azure-native:")):
                self.patterns.append(type_pattern(token))
            else:
                self.exact.add(token)

    def __call__(self, resource_type: str) -> bool:
        return resource_type in self.exact or any(p.match(resource_type) for p in self.patterns)


def effective_config(info: RuleInfo, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule's config defaults overlaid with what the engine (or the offline checker) gave."""
    merged = info.defaults()
    for key, value in (given or {}).items():
        if key != "enforcementLevel":
            merged[key] = value
    return merged


class MlfResourcePolicy(ResourceValidationPolicy):
    """A resource rule: ``check`` runs for every resource whose type the rule names."""

    def __init__(self, info: RuleInfo, check: Callable[..., Iterable[str]], *, with_provider: bool = False) -> None:
        self.info = info
        self.check = check
        self.matches = TypeMatcher(info.resource_types)
        self._with_provider = with_provider
        super().__init__(
            name=info.id,
            description=info.description,
            validate=self._validate,
            enforcement_level=info.enforcement,
            config_schema=PolicyConfigSchema(properties={k: dict(v) for k, v in info.config.items()})
            if info.config
            else None,
            display_name=info.title,
            severity=info.severity,
            tags=[*info.clouds, info.section],
            remediation_steps=info.remediation,
        )

    def _validate(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not self.matches(args.resource_type):
            return
        config = effective_config(self.info, args.get_config())
        if self._with_provider:
            provider_props = args.provider.props if args.provider is not None else {}
            messages = self.check(args.resource_type, args.props, config, provider_props)
        else:
            messages = self.check(args.resource_type, args.props, config)
        for message in messages:
            report_violation(message, None)


class MlfStackPolicy(StackValidationPolicy):
    """A stack rule: ``check`` sees every resource of the stack at once (joins, totals)."""

    def __init__(self, info: RuleInfo, check: StackCheck) -> None:
        self.info = info
        self.check = check
        self.matches = TypeMatcher(info.resource_types)
        super().__init__(
            name=info.id,
            description=info.description,
            validate=self._validate,
            enforcement_level=info.enforcement,
            config_schema=PolicyConfigSchema(properties={k: dict(v) for k, v in info.config.items()})
            if info.config
            else None,
            display_name=info.title,
            severity=info.severity,
            tags=[*info.clouds, info.section],
            remediation_steps=info.remediation,
        )

    def _validate(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = effective_config(self.info, args.get_config())
        for message, urn in self.check(args.resources, config):
            report_violation(message, urn)


MlfPolicy = MlfResourcePolicy | MlfStackPolicy


def resource_policy(info: RuleInfo, *, with_provider: bool = False) -> Callable[[ResourceCheck], MlfResourcePolicy]:
    """Decorator: turn ``check(resource_type, props, config)`` into the rule's policy object.

    The module keeps the plain function reachable as ``policy.check`` for tests.
    """

    def wrap(check: Callable[..., Iterable[str]]) -> MlfResourcePolicy:
        return MlfResourcePolicy(info, check, with_provider=with_provider)

    return wrap


def stack_policy(info: RuleInfo) -> Callable[[StackCheck], MlfStackPolicy]:
    """Decorator: turn ``check(resources, config)`` into the rule's stack policy object."""

    def wrap(check: StackCheck) -> MlfStackPolicy:
        return MlfStackPolicy(info, check)

    return wrap


# --- reading the engine's props ------------------------------------------------------------------


def get(props: Any, path: str, default: Any = None) -> Any:
    """``props["a"]["b"][0]["c"]`` for ``"a.b.0.c"``; ``default`` when any step is missing."""
    current = props
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part not in current:
                return default
            current = current[part]
        elif _is_sequence(current) and part.isdigit():
            index = int(part)
            if index >= len(current):
                return default
            current = current[index]
        else:
            return default
    return default if current is None else current


def truthy(value: Any) -> bool:
    """True for True and "true" (the engine may hand booleans over as strings)."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def falsy(value: Any) -> bool:
    """Explicitly false (not merely missing)."""
    if isinstance(value, str):
        return value.strip().lower() == "false"
    return value is False


def number(value: Any) -> float | None:
    """A number from an int, a float (mocks hand integers over as floats) or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def items(value: Any) -> list[Any]:
    """A list from a list, a single value, or nothing."""
    if value is None:
        return []
    if _is_sequence(value):
        return list(value)
    return [value]


def _is_sequence(value: Any) -> bool:
    # The engine hands props over wrapped in pulumi_policy's unknown-checking proxies: lists arrive
    # as a Sequence that is not a list, maps as a Mapping that is not a dict.
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


_UNKNOWNS = frozenset({UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_BOOLEAN_VALUE,
                       UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE})


def is_unknown(value: Any) -> bool:
    """A value the engine cannot know yet (during preview: e.g. the ARN of a key not yet created)."""
    return isinstance(value, str) and value in _UNKNOWNS


def unwrap(value: Any) -> Any:
    """The container inside one of pulumi_policy's proxies, read without raising on unknowns."""
    if isinstance(value, Mapping | Sequence) and not isinstance(value, str | bytes | dict | list | tuple):
        proxy: Any = value
        try:
            return proxy["__target"]  # the proxies' escape hatch (pulumi_policy/proxy.py)
        except (KeyError, TypeError, IndexError):
            return value
    return value


def plain(value: Any) -> Any:
    """Props as plain dicts and lists (for JSON rendering and text search); unknowns stay sentinels."""
    value = unwrap(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if _is_sequence(value):
        return [plain(v) for v in value]
    return value


def is_set(props: Any, path: str) -> bool:
    """Is ``path`` set to something non-empty? A value unknown during preview counts as set: it is
    computed from another resource (a key ARN, a topic ARN), which is exactly what rules ask for."""
    current = unwrap(props)
    for part in path.split("."):
        if is_unknown(current):
            return True
        if isinstance(current, Mapping):
            if part not in current:
                return False
            current = unwrap(current[part])
        elif _is_sequence(current) and part.isdigit() and int(part) < len(current):
            current = unwrap(current[int(part)])
        else:
            return False
    if is_unknown(current):
        return True
    if isinstance(current, Mapping) or _is_sequence(current):
        return len(current) > 0
    return current not in (None, "", False)


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def json_document(value: Any) -> Mapping[str, Any] | None:
    """A policy document given as a JSON string or already as a mapping; None when unreadable."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def fmt(value: Any) -> str:
    """A short rendering of a prop value for a message (whole floats as integers: 2.0 -> 2)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = json.dumps(plain(value), default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def open_cidrs(cidrs: Iterable[Any]) -> list[str]:
    """The CIDRs that open an endpoint to the whole internet."""
    return [str(c) for c in cidrs if str(c).strip() in {"0.0.0.0/0", "::/0", "*", "Internet", "any"}]


def resource_config_int(config: Mapping[str, Any], key: str) -> int:
    value = number(config.get(key))
    return int(value) if value is not None else 0


# --- rules that are only switches ----------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One setting a flag rule reads: ``message`` is reported when ``violated(props)``."""

    message: str
    violated: Callable[[Mapping[str, Any]], bool]


def must_be_true(path: str, message: str) -> Flag:
    return Flag(message, lambda props: not truthy(get(props, path)))


def must_not_be_true(path: str, message: str) -> Flag:
    return Flag(message, lambda props: truthy(get(props, path)))


def must_not_be_false(path: str, message: str) -> Flag:
    """Only an explicit false is a violation: an unset switch keeps the cloud's (safe) default."""
    return Flag(message, lambda props: falsy(get(props, path)))


def must_be_set(path: str, message: str) -> Flag:
    return Flag(message, lambda props: not is_set(props, path))


def flag_rule(info: RuleInfo, *flags: Flag) -> MlfResourcePolicy:
    """A rule that is only settings that must (not) be on: one message per wrong setting, in order.

    The plain function stays reachable as ``policy.check`` like any other rule's."""

    def check(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
        del resource_type, config
        for flag in flags:
            if flag.violated(props):
                yield flag.message

    return MlfResourcePolicy(info, check)


# --- joining stack resources ------------------------------------------------------------------------


def of_types(resources: Sequence[PolicyResource], *tokens: str) -> list[PolicyResource]:
    match = TypeMatcher(tokens)
    return [r for r in resources if match(r.resource_type)]


def identities(resource: PolicyResource) -> set[str]:
    """Values other resources may use to point at ``resource``: its URN and its id/name/ARN props."""
    found = {resource.urn}
    props = plain(resource.props)
    for key in ("id", "arn", "name", "bucket", "accountName", "keyArn", "keyId"):
        value = props.get(key) if isinstance(props, Mapping) else None
        if isinstance(value, str) and value and not is_unknown(value):
            found.add(value)
    return found


def refers_to(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """Does ``resource.props[prop]`` point at ``target`` (by dependency, or by value)?

    The engine's property dependencies are the reliable link (an auto-named bucket's name is not
    among its own inputs); the value comparison covers stack exports and outputs.
    """
    if any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, []) or []):
        return True
    props = plain(resource.props)
    value = props.get(prop) if isinstance(props, Mapping) else None
    if value is None or is_unknown(value):
        return False
    wanted = identities(target)
    return any(str(v) in wanted or any(str(v).startswith(w + "/") for w in wanted if w.startswith("/"))
               for v in items(value))


def mentions(resource: PolicyResource, target: PolicyResource, props: Iterable[str] | None = None) -> bool:
    """Does any prop of ``resource`` (or the named ones) depend on or name ``target``?"""
    keys = list(props) if props is not None else list(resource.property_dependencies)
    if any(dep.urn == target.urn for key in keys for dep in resource.property_dependencies.get(key, []) or []):
        return True
    if any(dep.urn == target.urn for dep in resource.dependencies):
        return True
    raw = plain(resource.props)
    text = json.dumps({k: raw.get(k) for k in (props or raw)}, default=str)
    return any(len(value) > 3 and value in text for value in identities(target) if value != target.urn)


# --- joining without scanning every pair ---------------------------------------------------------------

# Where a name may sit inside a longer string: a quoted value in a Cloud Monitoring filter or a KQL query
# ('service_name="scorer"'), a segment of an ARN, resource id or path ("endpoint/scorer/variant/main").
_PIECES = re.compile(r"""[\s"'=,;()\[\]{}<>|&!]+""")
_SEGMENTS = re.compile(r"[/:]+")


def name_tokens(value: Any) -> set[str]:
    """Every string a prop value holds, whole and cut into the pieces a name or id may be (lowercased)."""
    found: set[str] = set()
    stack = [plain(value)]
    while stack:
        current = stack.pop()
        if isinstance(current, Mapping):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
        elif isinstance(current, str) and not is_unknown(current):
            text = current.lower()
            found.add(text)
            for piece in _PIECES.split(text):
                found.add(piece)
                found.update(_SEGMENTS.split(piece))
    found.discard("")
    return found


class MentionIndex:
    """Which ``sources`` depend on or name each target, built once: linear in the stack, not sources x targets.

    The indexed counterpart of ``mentions``: a source mentions a target when one of ``keys(source)``
    (every prop when it returns None) has a property dependency on it, when the source depends on it
    at all, or when those props hold one of the target's identities (name, id, ARN) as a whole value or
    as a whole piece of a longer one (a quoted filter value, an ARN/path segment) — never as a mere
    substring, so endpoint ``ep1`` is not watched by an alarm on ``ep10``.
    """

    def __init__(self, sources: Sequence[PolicyResource],
                 keys: Callable[[PolicyResource], Sequence[str] | None] = lambda _: None) -> None:
        self._by_urn: dict[str, list[int]] = {}
        self._by_value: dict[str, list[int]] = {}
        self._sources = list(sources)
        for index, source in enumerate(self._sources):
            wanted = keys(source)
            props = list(wanted) if wanted else list(source.property_dependencies)
            urns = {dep.urn for key in props for dep in source.property_dependencies.get(key, []) or []}
            urns.update(dep.urn for dep in source.dependencies)
            for urn in urns:
                self._by_urn.setdefault(urn, []).append(index)
            raw = plain(source.props)
            raw = raw if isinstance(raw, Mapping) else {}
            for token in name_tokens({k: raw.get(k) for k in (wanted or raw)}):
                if len(token) > 3:
                    self._by_value.setdefault(token, []).append(index)

    def of(self, target: PolicyResource) -> list[PolicyResource]:
        """The sources that mention ``target``, in the order they were given."""
        hits = set(self._by_urn.get(target.urn, []))
        for value in identities(target):
            if value != target.urn:
                hits.update(self._by_value.get(value.lower(), []))
        return [self._sources[i] for i in sorted(hits)]


class ReferenceIndex:
    """``refers_to`` for many resources at once: which ``targets`` a prop of a resource points at."""

    def __init__(self, targets: Sequence[PolicyResource]) -> None:
        self._by_urn = {t.urn: t for t in targets}
        self._by_value: dict[str, list[PolicyResource]] = {}
        for target in targets:
            for value in identities(target):
                self._by_value.setdefault(value, []).append(target)

    def of(self, resource: PolicyResource, prop: str) -> list[PolicyResource]:
        found = {dep.urn: self._by_urn[dep.urn] for dep in resource.property_dependencies.get(prop, []) or []
                 if dep.urn in self._by_urn}
        props = plain(resource.props)
        value = props.get(prop) if isinstance(props, Mapping) else None
        if value is not None and not is_unknown(value):
            for item in items(value):
                text = str(item)
                # An exact identity, or a child path of an id ("/subscriptions/.../x" under ".../x/y").
                candidates = [text]
                if text.startswith("/"):
                    parts = text.split("/")
                    candidates += ["/".join(parts[:n]) for n in range(2, len(parts))]
                for candidate in candidates:
                    for target in self._by_value.get(candidate, []):
                        found.setdefault(target.urn, target)
        return list(found.values())
