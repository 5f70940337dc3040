"""Small fixtures for policy tests: resources as camelCase prop dicts, run through the real pack path.

``R("aws:s3/bucket:Bucket", "data", {...}, links={"bucket": "data"})`` is one recorded resource;
``links`` names the resources a prop depends on (the engine's property dependencies). ``verdicts``
runs one rule through ``mlfabric.check.run_pack`` — real ``ResourceValidationArgs`` /
``StackValidationArgs``, the policy config applied as the engine would — and returns its violations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlfabric.check import PackConfig, RuleSetting, Source, Violation, run_pack
from mlfabric.plan import ResourceRecord
from mlfabric.policies.rules import BY_ID


@dataclass(frozen=True)
class R:
    """One resource of a fixture."""

    type: str
    name: str = "r"
    props: Mapping[str, Any] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)  # prop -> name of the resource it depends on
    protect: bool = False
    provider: str | None = None  # name of a provider resource of the fixture

    def urn(self) -> str:
        return f"urn:pulumi:test::mlfabric::{self.type}::{self.name}"


def records(resources: Sequence[R]) -> list[ResourceRecord]:
    urns = {r.name: r.urn() for r in resources}
    out = []
    for r in resources:
        deps = {prop: [urns[target]] for prop, target in r.links.items()}
        out.append(ResourceRecord(
            urn=r.urn(), type=r.type, name=r.name, parent="", custom=True,
            provider=f"{urns[r.provider]}::id" if r.provider else "", protect=r.protect, retain_on_delete=r.protect,
            id=f"{r.name}-id", inputs=dict(r.props),
            dependencies=sorted({u for us in deps.values() for u in us}), property_dependencies=deps,
        ))
    return out


def verdicts(rule_id: str, resources: Sequence[R] | R, properties: Mapping[str, Any] | None = None,
             level: str | None = None) -> list[Violation]:
    """Violations of one rule on a fixture (properties/level as a policy config file would set them)."""
    fixture = [resources] if isinstance(resources, R) else list(resources)
    source = Source("test", "mlfabric", "prod", None, "", records(fixture))
    config = PackConfig(None, None, {rule_id: RuleSetting(level, dict(properties or {}))})
    report = run_pack(source, config, [BY_ID[rule_id]])
    crashed = [v for v in report.violations if "failed to run" in v.message]
    assert not crashed, crashed[0].message
    return report.violations


def messages(rule_id: str, resources: Sequence[R] | R, properties: Mapping[str, Any] | None = None) -> list[str]:
    return [v.message for v in verdicts(rule_id, resources, properties)]
