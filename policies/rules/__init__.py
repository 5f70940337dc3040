"""Every rule of the mlfabric policy pack, in one list, with its metadata and config schema.

``policies/__main__.py`` hands ``POLICIES`` to ``pulumi_policy.PolicyPack`` under the engine; the
offline checker (``mlfabric check``) imports the very same objects and calls their ``validate``.
Modules import each other relatively so the package works both as ``rules`` (the pack directory on
``sys.path``, as ``pulumi preview --policy-pack policies`` runs it) and as ``mlfabric.policies.rules``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from . import (
    budget,
    clusters,
    hardening_aws,
    hardening_azure,
    hardening_gcp,
    iam,
    kubernetes_workloads,
    lifecycle,
    registries,
    serving,
    stack,
    storage,
    tags,
    teams,
)
from .base import MlfPolicy, MlfResourcePolicy, MlfStackPolicy, RuleInfo

PACK_NAME: Final = "mlfabric"
PACK_VERSION: Final = "0.1.0"
CLOUDS: Final = ("aws", "gcp", "azure")

POLICIES: Final[list[MlfPolicy]] = [
    *storage.POLICIES,
    *clusters.POLICIES,
    *registries.POLICIES,
    *serving.POLICIES,
    *iam.POLICIES,
    *tags.POLICIES,
    *stack.POLICIES,
    *hardening_aws.POLICIES,
    *hardening_gcp.POLICIES,
    *hardening_azure.POLICIES,
    *kubernetes_workloads.POLICIES,
    *budget.POLICIES,
    *teams.POLICIES,
    *lifecycle.POLICIES,
]
RULES: Final[dict[str, RuleInfo]] = {p.info.id: p.info for p in POLICIES}
BY_ID: Final[dict[str, MlfPolicy]] = {p.info.id: p for p in POLICIES}

if len(RULES) != len(POLICIES):  # pragma: no cover - a duplicated id is a programming error
    raise RuntimeError("duplicate rule ids in the mlfabric policy pack")


def config_schema() -> dict[str, dict[str, Any]]:
    """Rule id -> JSON Schema of its config properties (enforcementLevel is always accepted)."""
    return {rule.id: {k: dict(v) for k, v in rule.config.items()} for rule in RULES.values()}


def rules_per_cloud() -> dict[str, int]:
    """How many rules apply to each cloud (a cross-cloud rule counts for each of its clouds)."""
    counts = Counter(cloud for rule in RULES.values() for cloud in rule.clouds)
    return {cloud: counts[cloud] for cloud in CLOUDS}


__all__ = [
    "BY_ID",
    "CLOUDS",
    "PACK_NAME",
    "PACK_VERSION",
    "POLICIES",
    "RULES",
    "MlfPolicy",
    "MlfResourcePolicy",
    "MlfStackPolicy",
    "RuleInfo",
    "config_schema",
    "rules_per_cloud",
]
