"""The fake world the offline plan pretends to deploy into, and what every cloud's fakes share.

``World`` is the identity and placement (account, project, subscription, region) every answer is
formatted with. ``Registration`` is one resource registration as a cloud's fakes see it, with the
deterministic digests their ids and names are made of: the same resource gets the same id, name and
ARN on every run, so a plan is byte-for-byte repeatable. Pure data and hashing: no provider SDK.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class World:
    """Identity and placement answers shared by every cloud's fakes."""

    project: str
    stack: str
    region: str
    aws_account_id: str = "123456789012"
    gcp_project: str = "mlfabric-offline"
    gcp_project_number: str = "123456789012"
    azure_subscription_id: str = "00000000-0000-0000-0000-000000000000"
    azure_tenant_id: str = "11111111-1111-1111-1111-111111111111"
    azure_object_id: str = "22222222-2222-2222-2222-222222222222"


def digest(*parts: str, length: int = 8) -> str:
    """A stable lowercase hex string: the same parts give the same digest on every run."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def uuid_of(*parts: str) -> str:
    """A stable UUID-shaped string (8-4-4-4-12 hex digits)."""
    h = digest(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def digits_of(*parts: str, length: int = 19) -> str:
    """A stable decimal id (Google's numeric resource ids), never starting with 0."""
    return str(int(digest(*parts, length=64), 16))[:length].replace("0", "1", 1)


@dataclass
class Registration:
    """One custom-resource registration, as a cloud's fakes answer it.

    ``physical`` is the name the cloud gives the resource (the name input, else an auto-name); the
    cloud's fakes set it before formatting ids, ARNs and URLs from it.
    """

    typ: str
    name: str
    inputs: Mapping[str, Any]
    world: World
    physical: str = ""
    # the resource id, once the cloud's fakes have formatted it
    resource_id: str = ""

    @property
    def kind(self) -> str:
        """The resource class name of the type token (``Bucket`` in ``aws:s3/bucket:Bucket``)."""
        return self.typ.rsplit(":", 1)[-1]

    @property
    def camel_kind(self) -> str:
        """The kind with a lower-case initial, as property names spell it (``bucket``, ``nodeGroup``)."""
        return self.kind[:1].lower() + self.kind[1:]

    @property
    def module(self) -> str:
        """The first segment of the token's module (``s3`` in ``aws:s3/bucket:Bucket``)."""
        return self.typ.split(":")[1].split("/", maxsplit=1)[0]

    def text(self, key: str, default: str = "") -> str:
        """An input as a string (``default`` when it is absent or empty)."""
        value = self.inputs.get(key)
        return str(value) if value not in (None, "") else default

    def digest(self, *parts: str, length: int = 8) -> str:
        """A digest of this resource (its type token and logical name) and ``parts``."""
        return digest(self.typ, self.name, *parts, length=length)

    def uuid(self, *parts: str) -> str:
        return uuid_of(self.typ, self.name, *parts)


class Fields(dict[str, Any]):
    """``str.format_map`` fields for id/ARN/URL templates: inputs by name, then the registration's
    computed fields; anything absent formats as an empty string (as a missing input would)."""

    def __missing__(self, key: str) -> str:
        return ""


def fields(r: Registration, **computed: Any) -> Fields:
    """Template fields of a registration: ``physical``, ``id``, ``region``, ``logical`` (the logical
    name), ``uuid``, the ``computed`` fields given, and every string or map input (an input wins over
    a computed field of the same name: ``region`` is the resource's own when it names one)."""
    base: dict[str, Any] = {"physical": r.physical, "id": r.resource_id, "region": r.world.region,
                            "logical": r.name, "uuid": r.uuid(), **computed}
    base.update((k, v) for k, v in r.inputs.items() if isinstance(v, str | dict))
    return Fields(base)
