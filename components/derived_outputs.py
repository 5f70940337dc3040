"""Every output a resource type computes, derived from the installed provider SDK, and answered.

The offline plan must answer each registration with what the real provider computes: an input built
from an output the mock leaves out is silently dropped (DESIGN, known traps). Which outputs exist is
not ours to type: a type token's SDK class declares, as getters, every property the program can read,
and its ``Args`` class the ones it takes as inputs. ``schema_of`` reads both, lazily per type token
— it imports only the SDK of the token's package (``pulumi_aws`` for ``aws:…``), which the program has
already loaded to declare the resource, so a single-cloud plan never loads another cloud's SDK — and
caches them.

``complete`` turns a cloud's answer (the id, and the few values that need the cloud's real formats)
into a complete one: every output the SDK declares and the inputs do not give is answered — by the
cloud's rule for that property name (``Style.rules``: ARNs, account ids, self links, ARM types…),
else by a cloud-neutral rule for its name and type (URLs, host names, timestamps, etags, ids, states,
IPs), else by the empty value of its type. Objects are answered field by field, including the
read-only fields inside an object the program passed as an input where the SDK tells them apart
(azure-native's ``*Response`` types: a vault's ``properties.vaultUri``). The Terraform-bridged SDKs
(aws, gcp) use one type for a nested block's inputs and outputs, so a read-only field inside an input
block (an EKS cluster's ``vpcConfig.clusterSecurityGroupId``) is answered only when a fake does.

It fails loudly instead of letting a read come back ``None``: ``UnknownOutputError`` when a type has
no SDK schema (nothing says which outputs it computes), and when a cloud's fake answers a property
the SDK does not declare (a misspelt fake would leave the real property unanswered). A fake may
answer None on purpose: the provider returns nothing there (a public AKS cluster's private FQDN).
"""

from __future__ import annotations

import enum
import functools
import importlib
import types
import typing
from collections import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi

from mlfabric.compat import get_resource_module, sdk_types
from mlfabric.components.fakes import Registration

__all__ = ["ResourceSchema", "Shape", "Style", "UnknownOutputError", "complete", "schema_of"]

# Nested objects deeper than this are answered empty (some SDK types are recursive).
_MAX_DEPTH: Final = 4
_SEQUENCES: Final = frozenset({list, abc.Sequence, typing.Sequence})
_MAPPINGS: Final = frozenset({dict, abc.Mapping, typing.Mapping})
_WRAPPERS: Final = frozenset({abc.Awaitable, pulumi.Output})
_NESTED: Final = frozenset({"object", "list", "map"})
TIMESTAMP: Final = "2024-01-01T00:00:00Z"


class UnknownOutputError(RuntimeError):
    """The offline plan cannot answer an output a component may read."""


# --- the SDK's own declarations ------------------------------------------------------------------
# The SDK internals used here (``get_resource_module``, ``pulumi._types``) are the ones the SDK itself
# uses to turn a provider's answer into a resource's outputs; ``mlfabric.compat`` hands them out.


def _registered_class(package: str, module: str, token: str) -> type | None:
    registered = get_resource_module(package, module, "")
    info = getattr(registered, "mod_info", None)
    if not isinstance(info, dict) or token not in info.get("classes", {}):
        return None
    cls = getattr(importlib.import_module(info["fqn"]), info["classes"][token], None)
    return cls if isinstance(cls, type) else None


def _sdk_class(token: str) -> type | None:
    """The SDK class of a type token, through the resource modules the SDK registers on import."""
    parts = token.split(":")
    if len(parts) != 3:
        return None
    package, module, kind = parts
    try:
        importlib.import_module("pulumi_" + package.replace("-", "_"))
    except ImportError:
        return None
    found = _registered_class(package, module, token)
    # azure-native tokens may carry an API version (``storage/v20230101``); the default one answers.
    base = module.split("/", 1)[0]
    if found is None and base != module:
        found = _registered_class(package, base, f"{package}:{base}:{kind}")
    return found


def _args_class(cls: type) -> type | None:
    """The resource's ``Args`` class (``<Kind>InitArgs`` when the name collides with a nested type)."""
    module = importlib.import_module(cls.__module__)
    for name in (f"{cls.__name__}InitArgs", f"{cls.__name__}Args"):
        candidate = getattr(module, name, None)
        if isinstance(candidate, type) and sdk_types.is_input_type(candidate):
            return candidate
    return None


# --- shapes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What a value of one property looks like: ``str``, ``int``, ``float``, ``bool``, ``const``
    (a literal or enum), ``list`` / ``map`` of ``item``, ``object`` (an SDK output type, with the
    matching input type when the program can pass it) or ``any``."""

    kind: str
    item: Shape | None = None
    output_type: type | None = None
    input_type: type | None = None
    const: Any = None

    def fields(self) -> Mapping[str, Shape]:
        return _object_fields(self.output_type, self.input_type)[0] if self.output_type else {}

    def computed(self) -> frozenset[str]:
        """Fields the provider computes: the output type's fields its input type does not take."""
        return _object_fields(self.output_type, self.input_type)[1] if self.output_type else frozenset()


def _bare(annotation: Any) -> Any:
    """``T`` out of ``Output[T]``, ``Optional[T]`` and ``Input[T]`` (``Union[T, Awaitable[T], Output[T]]``)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is pulumi.Output:
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Union or origin is types.UnionType:
            members = [a for a in typing.get_args(annotation)
                       if a is not type(None) and typing.get_origin(a) not in _WRAPPERS]
            if not members:
                return None
            annotation = members[0]
        else:
            return annotation


def _type_arg(annotation: Any, index: int) -> Any:
    args = typing.get_args(annotation)
    return args[index] if args else None


def _scalar(annotation: type) -> Shape | None:
    if issubclass(annotation, enum.Enum):
        return Shape("const", const=next(iter(annotation)).value)
    for scalar in (bool, str, int, float):
        if annotation is scalar:
            return Shape(scalar.__name__)
    if sdk_types.is_output_type(annotation):
        return Shape("object", output_type=annotation)
    return None


def shape_of(output_annotation: Any, input_annotation: Any = None) -> Shape:
    """The shape of a property from its output annotation (and its input one, when it is an input)."""
    out, inp = _bare(output_annotation), _bare(input_annotation)
    origin = typing.get_origin(out)
    if origin in _SEQUENCES:
        return Shape("list", item=shape_of(_type_arg(out, 0), _type_arg(inp, 0)))
    if origin in _MAPPINGS:
        return Shape("map", item=shape_of(_type_arg(out, -1), _type_arg(inp, -1)))
    if origin is typing.Literal:
        return Shape("const", const=typing.get_args(out)[0])
    shape = _scalar(out) if isinstance(out, type) else None
    if shape is None:
        return Shape("any")
    if shape.kind == "object" and isinstance(inp, type) and sdk_types.is_input_type(inp):
        return Shape("object", output_type=out, input_type=inp)
    return shape


@functools.cache
def _object_fields(output_type: type, input_type: type | None) -> tuple[dict[str, Shape], frozenset[str]]:
    try:
        outputs = sdk_types.output_type_types(output_type)
        inputs = sdk_types.input_type_types(input_type) if input_type is not None else {}
    except (NameError, TypeError):  # a forward reference the SDK cannot resolve: answer it empty
        return {}, frozenset()
    shapes = {name: shape_of(annotation, inputs.get(name)) for name, annotation in outputs.items()}
    return shapes, frozenset(outputs) - frozenset(inputs)


@dataclass(frozen=True)
class ResourceSchema:
    """A resource type as its SDK declares it: every output property and which ones are inputs."""

    token: str
    outputs: Mapping[str, Shape]
    inputs: frozenset[str]
    computed: frozenset[str] = field(default=frozenset())

    def name_key(self, *candidates: str) -> str | None:
        """The first candidate that is an input of the type (the property holding its physical name)."""
        return next((c for c in candidates if c in self.inputs), None)


@functools.cache
def schema_of(token: str) -> ResourceSchema | None:
    """The SDK's declaration of a resource type token, or None when no installed SDK declares it."""
    cls = _sdk_class(token)
    if cls is None:
        return None
    args = _args_class(cls)
    inputs = sdk_types.input_type_types(args) if args is not None else {}
    outputs = {name: shape_of(annotation, inputs.get(name))
               for name, annotation in sdk_types.resource_types(cls).items() if name not in ("id", "urn")}
    return ResourceSchema(token, outputs, frozenset(inputs), frozenset(outputs) - frozenset(inputs))


# --- answering -----------------------------------------------------------------------------------

CloudRule = Callable[[Registration, str], Any]


@dataclass(frozen=True)
class Style:
    """How one cloud answers the outputs its fakes do not answer one by one.

    ``rules`` answer a property by its name (a key starting with ``*`` matches a name suffix); a rule
    returning None leaves the property to the neutral rules. ``defaults`` names the optional inputs
    the provider fills in when they are not given (a GCP resource's ``project``); their rule answers
    them. ``host`` is a DNS name for the resource (URLs, FQDNs, endpoints), ``ready`` the word the
    cloud's API uses for a healthy state.
    """

    cloud: str
    rules: Mapping[str, CloudRule]
    host: Callable[[Registration], str]
    ready: str
    defaults: tuple[str, ...] = ()

    def rule(self, prop: str) -> CloudRule | None:
        found = self.rules.get(prop)
        if found is not None:
            return found
        return next((rule for key, rule in self.rules.items() if key[0] == "*" and prop.endswith(key[1:])), None)


def complete(r: Registration, answer: dict[str, Any], style: Style) -> dict[str, Any]:
    """``answer`` with every output of ``r``'s type answered; raises UnknownOutputError when the type
    has no SDK schema or ``answer`` names an output the SDK does not declare. A property the answer
    sets to None stays None: the fake says the provider returns nothing there."""
    schema = schema_of(r.typ)
    if schema is None:
        raise UnknownOutputError(
            f"the offline plan cannot answer resource {r.name!r} of type {r.typ!r}: no installed provider SDK "
            "declares this type, so which outputs it computes is unknown (declare it with the provider SDK's "
            "class, or install the SDK that has it)"
        )
    check_declared(schema, answer, style.cloud)
    for prop, shape in schema.outputs.items():
        if prop in answer:
            value = answer[prop]
            if value is not None and shape.kind in _NESTED:
                answer[prop] = _fill(r, value, shape, style, 1)
        elif prop in r.inputs:
            given = r.inputs[prop]
            filled = _fill(r, given, shape, style, 1) if given is not None and shape.kind in _NESTED else given
            if filled is not given:
                answer[prop] = filled
        elif prop in schema.computed or prop in style.defaults:
            answer[prop] = value_for(r, prop, shape, style)
    return answer


def check_declared(schema: ResourceSchema, answer: Mapping[str, Any], cloud: str) -> None:
    """Every property (and nested field) a fake answers is one the SDK declares."""
    for prop, value in answer.items():
        if prop.startswith("__"):
            continue
        shape = schema.outputs.get(prop)
        if shape is None:
            raise UnknownOutputError(_undeclared(schema.token, prop, sorted(schema.outputs), cloud))
        _check_nested(schema.token, prop, value, shape, cloud)


def _check_nested(token: str, path: str, value: Any, shape: Shape, cloud: str) -> None:
    if shape.kind == "object" and isinstance(value, dict):
        fields = shape.fields()
        for key, item in value.items():
            if key not in fields:
                raise UnknownOutputError(_undeclared(token, f"{path}.{key}", sorted(fields), cloud))
            _check_nested(token, f"{path}.{key}", item, fields[key], cloud)
    elif shape.kind == "list" and isinstance(value, list) and shape.item is not None:
        for index, item in enumerate(value):
            _check_nested(token, f"{path}[{index}]", item, shape.item, cloud)
    elif shape.kind == "map" and isinstance(value, dict) and shape.item is not None:
        for key, item in value.items():
            _check_nested(token, f"{path}.{key}", item, shape.item, cloud)


def _undeclared(token: str, path: str, declared: list[str], cloud: str) -> str:
    return (
        f"the offline fakes answer output {path!r} of {token!r}, which the installed provider SDK does not "
        f"declare (it declares: {', '.join(declared) or 'nothing'}); a component reading the real output would "
        f"get nothing offline: fix components/{cloud}/fakes.py"
    )


def _fill(r: Registration, value: Any, shape: Shape, style: Style, depth: int) -> Any:
    """``value`` with the computed fields of its objects answered (the same object when none is missing)."""
    if depth > _MAX_DEPTH:
        return value
    if shape.kind == "object" and isinstance(value, dict):
        return _fill_object(r, value, shape, style, depth)
    item = shape.item
    if item is None or item.kind not in _NESTED:
        return value
    if shape.kind == "list" and isinstance(value, list):
        filled = [_fill(r, v, item, style, depth + 1) if v is not None else v for v in value]
        return filled if any(a is not b for a, b in zip(filled, value, strict=True)) else value
    if shape.kind == "map" and isinstance(value, dict):
        mapped = {k: _fill(r, v, item, style, depth + 1) if v is not None else v for k, v in value.items()}
        return mapped if any(mapped[k] is not v for k, v in value.items()) else value
    return value


def _fill_object(r: Registration, value: dict[str, Any], shape: Shape, style: Style, depth: int) -> dict[str, Any]:
    computed = shape.computed()
    filled: dict[str, Any] | None = None
    for key, field_shape in shape.fields().items():
        if key in value:
            current = value[key]
            if current is None or field_shape.kind not in _NESTED:
                continue
            new = _fill(r, current, field_shape, style, depth + 1)
            if new is current:
                continue
        elif key in computed:
            new = value_for(r, key, field_shape, style, depth + 1)
        else:
            continue
        filled = filled if filled is not None else dict(value)
        filled[key] = new
    return filled if filled is not None else value


def value_for(r: Registration, prop: str, shape: Shape, style: Style, depth: int = 1) -> Any:
    """The answer for a computed property nothing else answers."""
    rule = style.rule(prop)
    ruled = rule(r, prop) if rule is not None else None
    if ruled is not None:
        # a rule's text where the SDK declares a number (a project number, a numeric id)
        return int(ruled) if shape.kind == "int" and isinstance(ruled, str) and ruled.isdigit() else ruled
    if shape.kind == "object":
        if depth >= _MAX_DEPTH:
            return {}
        return {key: value_for(r, key, s, style, depth + 1) for key, s in shape.fields().items()}
    return _neutral(r, prop, shape, style)


_EMPTY: Final[dict[str, Any]] = {"bool": False, "float": 0.0}


def _neutral(r: Registration, prop: str, shape: Shape, style: Style) -> Any:
    """Cloud-neutral answers by type, and for text by what the property's name says it holds."""
    if shape.kind == "const":
        return shape.const
    if shape.kind == "int":
        return 1 if prop.endswith(("Version", "Generation")) else 0
    if shape.kind in _EMPTY:
        return _EMPTY[shape.kind]
    if shape.kind == "list":
        return []
    if shape.kind != "str":
        return {}
    return _neutral_text(r, prop, style)


_TEXT_RULES: Final[tuple[tuple[tuple[str, ...], Callable[[Registration, str, Style], str]], ...]] = (
    (("At", "Time", "Date", "Timestamp", "On", "created", "updated"), lambda _, __, ___: TIMESTAMP),
    (("Uri", "Url", "URL", "URI", "Endpoint", "endpoint", "uri", "url"), lambda r, _, s: f"https://{s.host(r)}/"),
    (("Fqdn", "FQDN", "fqdn", "DomainName", "Domain", "Dns", "HostName", "Hostname"), lambda r, _, s: s.host(r)),
    (("etag", "ETag", "eTag", "Etag", "Fingerprint", "fingerprint"), lambda r, p, _: r.digest(p, length=16)),
    (("Guid", "Uid", "UID", "uid"), lambda r, p, _: r.uuid(p)),
    (("Id", "ID"), lambda r, p, _: r.digest(p, length=17)),
    (("status", "state", "State", "Status"), lambda _, __, s: s.ready),
    (("Ip", "IpAddress", "IPAddress", "ipAddress"), lambda r, p, _: f"192.0.2.{int(r.digest(p, length=2), 16) % 254 + 1}"),
    (("Version", "version"), lambda _, __, ___: "1"),
    (("location", "region", "Location", "Region"), lambda r, _, __: r.world.region),
)


def _neutral_text(r: Registration, prop: str, style: Style) -> str:
    if prop == "name":
        return r.physical or r.name
    for suffixes, answer in _TEXT_RULES:
        if prop.endswith(suffixes):
            return answer(r, prop, style)
    return f"{prop}-{r.digest(prop)}"
