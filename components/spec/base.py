"""What every section of the spec is made of: the base model, constrained scalar types, how a
validator reports a problem, and environment-dependent defaults."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

SPEC_CONFIG_KEY: Final = "mlfabric:platform"
SCHEMA_ID: Final = "https://mlfabric.dev/schema/platform-v1.json"
ENV_DEFAULTS_KEY: Final = "x-environment-defaults"

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: Final[tuple[Environment, ...]] = ("dev", "staging", "prod")
Persona = Literal["data-scientist", "ml-engineer", "platform-admin", "ci-deployer"]

# Identity tags mlfabric sets on every resource; users may not override them (policies and cost
# reports group by them).
RESERVED_TAG_KEYS: Final = frozenset({"mlfabric-platform", "mlfabric-environment", "managed-by"})

# The bucket name storage components use for access logs; a user bucket may not take it.
ACCESS_LOG_BUCKET: Final = "access-logs"


# (path of the field, relative to the model validated; what is wrong with it)
Problems = list[tuple[tuple[str | int, ...], str]]


class SpecProblem(ValueError):
    """A validator's finding that names the field it is about (relative to the model validated)."""

    def __init__(self, problems: Iterable[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


class SpecError(Exception):
    """A spec that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def env_default(*, dev: Any, staging: Any, prod: Any, description: str, **kwargs: Any) -> Any:
    """A field whose default depends on ``environment``.

    The static default is the prod value (the safe one, should a section ever be built on its
    own); the root model fills in the environment's value before validation.
    """
    by_env = {"dev": dev, "staging": staging, "prod": prod}
    return Field(
        default=prod,
        description=f"{description} Default by environment: dev {dev!r}, staging {staging!r}, "
        f"prod {prod!r}.",
        json_schema_extra={ENV_DEFAULTS_KEY: by_env},
        **kwargs,
    )


# --- constrained scalar types ----------------------------------------------------------------

_PLATFORM_NAME = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")
_ITEM_NAME = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
TAG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
_K8S_VERSION = re.compile(r"^1\.\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _platform_name(value: str) -> str:
    if not _PLATFORM_NAME.match(value) or "--" in value:
        raise ValueError(
            "must be 3-20 lowercase letters, digits or single hyphens, starting with a letter"
        )
    return value


def _item_name(value: str) -> str:
    if not _ITEM_NAME.match(value) or "--" in value:
        raise ValueError(
            # 3 is the floor of Azure blob container names, the strictest cloud.
            "must be 3-24 lowercase letters, digits or single hyphens, starting with a letter"
        )
    return value


def _pool_name(value: str) -> str:
    # AKS node pool names are the strictest of the three clouds: 1-12 lowercase alphanumerics.
    if not _POOL_NAME.match(value):
        raise ValueError("must be 1-12 lowercase letters or digits, starting with a letter")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("not a valid IPv4 CIDR block such as 10.0.0.0/16") from None
    if network.version != 4:
        raise ValueError("must be an IPv4 CIDR block")
    return str(network)


def _tag_value(value: str) -> str:
    if len(value) > 256:
        raise ValueError("tag values are at most 256 characters")
    return value


def _k8s_version(value: str) -> str:
    if not _K8S_VERSION.match(value):
        raise ValueError("must be a Kubernetes minor version such as '1.31'")
    return value


def _notify_target(value: str) -> str:
    if not (_EMAIL.match(value) or value.startswith("https://")):
        raise ValueError("must be an e-mail address or an https:// webhook URL")
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


PlatformName = Annotated[str, AfterValidator(_platform_name)]
ItemName = Annotated[str, AfterValidator(_item_name)]
PoolName = Annotated[str, AfterValidator(_pool_name)]
Cidr = Annotated[str, AfterValidator(_cidr)]
TagValue = Annotated[str, AfterValidator(_tag_value)]
KubernetesVersion = Annotated[str, AfterValidator(_k8s_version)]
NotifyTarget = Annotated[str, AfterValidator(_notify_target)]
# The names an item had before (oldest first); a single name may be given as a string.
PreviousNames = Annotated[list[ItemName], BeforeValidator(_as_list)]
PreviousPoolNames = Annotated[list[PoolName], BeforeValidator(_as_list)]


def renamed_from_field(what: str) -> Any:
    """The ``renamed_from`` field of a named item (bucket, GPU pool, endpoint)."""
    return Field(
        default_factory=list,
        description=f"Names this {what} had before, oldest first (one name may be given as a string): a "
        "rename keeps the deployed resource (its physical name stays the first one) instead of "
        "replacing it. Omitted: never renamed.",
    )


class SpecModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def unique_names(values: Iterable[str], path: str) -> list[tuple[tuple[str | int, ...], str]]:
    seen: set[str] = set()
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, value in enumerate(values):
        if value in seen:
            problems.append(((path, index), f"duplicate name (got {value!r})"))
        seen.add(value)
    return problems


def rename_problems(items: Iterable[tuple[str, list[str]]], path: str) -> list[tuple[tuple[str | int, ...], str]]:
    """A previous name that is also a current name, or the previous name of two items."""
    items = list(items)
    current = {name for name, _ in items}
    claimed: dict[str, str] = {}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, (name, previous) in enumerate(items):
        for old in previous:
            if old in current:
                problems.append(((path, index, "renamed_from"), f"{old!r} is the current name of another "
                                 f"item; a renamed item's old name cannot be reused (got {old!r})"))
            elif old in claimed and claimed[old] != name:
                problems.append(((path, index, "renamed_from"), f"{claimed[old]!r} was renamed from it "
                                 f"already (got {old!r})"))
            claimed.setdefault(old, name)
    return problems


def raise_if(problems: list[tuple[tuple[str | int, ...], str]]) -> None:
    if problems:
        raise SpecProblem(problems)

