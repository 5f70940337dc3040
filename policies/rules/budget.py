"""Budgets as policy: the stack's monthly cost estimate stays within the spec's `budget` section.

The pack imports nothing of mlfabric, so it cannot price a plan: it cannot see prices, and the engine
hands a stack policy only the resources' inputs. The estimate therefore reaches the rule through the
policy config, next to the budget: ``mlfabric cost -s STACK --policy-config OUT.json`` writes the
environment's config with the ``mlf-cost-budget`` entry filled in (the spec's ``budget`` limits and the
estimate's idle and full-scale totals and unpriced count), for ``pulumi preview --policy-pack-config
OUT.json`` and ``mlfabric check --policy-config OUT.json``. Limitation: the verdict is only as fresh as
that file — an estimate written before the last change to the stack is stale (CI writes it in the
same job, right before the check).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from .base import ADVISORY, HIGH, MlfPolicy, RuleInfo, number, stack_policy

BUDGET = RuleInfo(
    id="mlf-cost-budget",
    title="Monthly cost estimate within the spec's budget",
    description="The stack's monthly cost estimate (from `mlfabric cost`, passed in this rule's config as "
    "`estimate`) stays within the spec's `budget`: idle cost within idleUsdPerMonth and full-scale cost "
    "(a ceiling: every pool and endpoint at its maximum all month) within fullScaleUsdPerMonth. A budget "
    "without an estimate, or an estimate with unpriced items (failWhenIncomplete), fails: the pack cannot "
    "price a plan itself. No budget set: nothing to check.",
    remediation="Lower max_nodes/max_replicas or min_* bounds, use spot, or raise the spec's budget after a "
    "review; regenerate the estimate with `mlfabric cost -s STACK --policy-config OUT.json`.",
    severity=HIGH,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    # What the estimate scales with (the rule itself reads its config, not these resources' inputs).
    resource_types=("aws:eks/nodeGroup:NodeGroup", "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                    "gcp:container/nodePool:NodePool", "gcp:cloudrunv2/service:Service",
                    "azure-native:containerservice:AgentPool",
                    "azure-native:machinelearningservices:OnlineDeployment"),
    section="budget",
    config={
        "idleUsdPerMonth": {"type": "number", "minimum": 0, "default": 0,
                            "description": "The spec's budget.idle_usd_per_month (0: no idle limit)."},
        "fullScaleUsdPerMonth": {"type": "number", "minimum": 0, "default": 0,
                                 "description": "The spec's budget.full_scale_usd_per_month (0: no limit)."},
        "estimate": {"type": "object", "default": {},
                     "description": "Written by `mlfabric cost --policy-config`: idleUsdPerMonth, "
                     "fullScaleUsdPerMonth, unpricedItems, stack, priceFileAsOf."},
        "failWhenIncomplete": {"type": "boolean", "default": True,
                               "description": "Fail when the estimate has unpriced items (its totals are a "
                               "floor, so they cannot prove the budget holds)."},
    },
    kind="stack",
)


def _usd(value: float) -> str:
    return f"${value:,.2f}"


@stack_policy(BUDGET)
def check_budget(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del resources
    # 0 (the default) is no limit: the spec's budget fields are > 0 when set.
    limits = {kind: (number(config.get(key)) or None) for kind, key in (("idle", "idleUsdPerMonth"),
                                                                        ("full scale", "fullScaleUsdPerMonth"))}
    if all(limit is None for limit in limits.values()):
        return
    estimate = config.get("estimate") or {}
    if not isinstance(estimate, Mapping) or not estimate:
        yield ("a budget is set but no cost estimate was given: run `mlfabric cost -s STACK --policy-config "
               "OUT.json` and pass OUT.json as the policy config", None)
        return
    unpriced = number(estimate.get("unpricedItems")) or 0
    if unpriced and config.get("failWhenIncomplete", True) not in (False, "false"):
        yield (f"the cost estimate is incomplete ({unpriced:g} item{'' if unpriced == 1 else 's'} unpriced): its totals are a floor and "
               "cannot prove the budget holds", None)
    for kind, key in (("idle", "idleUsdPerMonth"), ("full scale", "fullScaleUsdPerMonth")):
        limit, spent = limits[kind], number(estimate.get(key))
        if limit is None:
            continue
        if spent is None:
            yield (f"the cost estimate has no {kind} total ({key})", None)
        elif spent > limit:
            yield (f"estimated {kind} cost {_usd(spent)}/month exceeds the budget of {_usd(limit)}/month "
                   f"(over by {_usd(spent - limit)})", None)


POLICIES: list[MlfPolicy] = [check_budget]
