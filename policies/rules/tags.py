"""Tag rules: required keys on every taggable resource (AWS and Azure tags, GCP labels).

Which types are taggable, and which prop holds the tags, comes from ``taggable.py`` (generated from
the provider SDKs). azure-native tokens are looked up without their API version. On AWS, tags the
provider adds to every resource (``defaultTags``) count, as they do for the real resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .base import HIGH, MANDATORY, MlfPolicy, RuleInfo, get, items, json_document, mapping, resource_policy
from .taggable import TAG_PROPERTY

_VERSIONED_AZURE = re.compile(r"^(azure-native:[A-Za-z0-9]+)/v[0-9a-z]+(:[A-Za-z0-9]+)$")
IDENTITY_TAGS = ["mlfabric-platform", "mlfabric-environment", "managed-by"]


def tag_property(resource_type: str) -> str | None:
    """The prop that holds a taggable type's tags/labels; None for types that take no tags."""
    return TAG_PROPERTY.get(_VERSIONED_AZURE.sub(r"\1\2", resource_type))


REQUIRED_TAGS = RuleInfo(
    id="mlf-required-tags",
    title="Required tags/labels present",
    description="Every taggable resource carries the required tag keys from policy config (by default "
    "mlfabric's identity tags mlfabric-platform, mlfabric-environment and managed-by) with non-empty "
    "values; GCP labels are compared lowercased.",
    remediation="Add the keys to the spec's `tags` (mlfabric components apply spec tags and identity "
    "tags to every resource), or set them on the resource.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=("re:^aws:", "re:^gcp:", "re:^azure-native:"),
    section="tags",
    config={"requiredKeys": {"type": "array", "items": {"type": "string"}, "default": IDENTITY_TAGS,
                             "description": "Tag/label keys every taggable resource must carry."}},
)


@resource_policy(REQUIRED_TAGS, with_provider=True)
def required_tags(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any],
                  provider_props: Mapping[str, Any] | None = None) -> Iterable[str]:
    prop = tag_property(resource_type)
    if prop is None:
        return
    tags = dict(mapping(props.get(prop)))
    if resource_type.startswith("aws:"):
        # Provider config arrives JSON-encoded (defaultTags: '{"tags": {...}}').
        defaults = json_document((provider_props or {}).get("defaultTags")) or {}
        tags = {**mapping(get(defaults, "tags")), **tags}
    gcp = resource_type.startswith("gcp:")
    present = {(k.lower() if gcp else k) for k, v in tags.items() if v not in (None, "")}
    missing = [k for k in (str(k) for k in items(config.get("requiredKeys"))) if (k.lower() if gcp else k) not in present]
    if missing:
        what = "labels" if gcp else "tags"
        yield f"missing required {what}: {', '.join(missing)}"


POLICIES: list[MlfPolicy] = [required_tags]
