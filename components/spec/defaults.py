"""Environment defaults: fill in each field's dev/staging/prod value before validation."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from mlfabric.components.spec.base import ENV_DEFAULTS_KEY

# --- environment defaults ------------------------------------------------------------------------


def nested_model(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """('model'|'list', M) when a field holds a model M or a list of M (optionally None)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return nested_model(members[0]) if len(members) == 1 else None
    if origin is list:
        inner = get_args(annotation)[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return ("list", inner)
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    return None


def _default_of(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        factory = typing.cast(Callable[[], Any], info.default_factory)
        value = factory()
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    if isinstance(value, list):
        return [v.model_dump(exclude_unset=True) if isinstance(v, BaseModel) else v for v in value]
    return value


def fill_environment_defaults(model: type[BaseModel], data: Mapping[str, Any], env: str) -> dict[str, Any]:
    filled = dict(data)
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and ENV_DEFAULTS_KEY in extra and name not in filled:
            by_env = typing.cast(dict[str, Any], extra[ENV_DEFAULTS_KEY])
            filled[name] = by_env[env]
            continue
        nested = nested_model(info.annotation)
        if nested is None:
            continue
        kind, sub = nested
        if name not in filled:
            default = _default_of(info)
            if default is None or default == []:
                continue
            filled[name] = default
        value = filled[name]
        if kind == "model" and isinstance(value, Mapping):
            filled[name] = fill_environment_defaults(sub, value, env)
        elif kind == "list" and isinstance(value, list):
            filled[name] = [
                fill_environment_defaults(sub, item, env) if isinstance(item, Mapping) else item
                for item in value
            ]
    return filled

