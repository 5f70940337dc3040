"""``mlf-alerts-reach-someone``: a stack that serves endpoints pages someone.

The failing fixtures are the example prod stacks planned today with ``monitoring.notify`` removed: the
alarms still route to the platform's topic / channel / action group, so ``mlf-endpoint-alarms`` is
clean, yet nobody is paged. With the stacks' own notify targets the rule passes.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mlfabric import stackfile
from mlfabric.plan import ResourceRecord, plan_spec
from tests.policies.helpers import R, verdicts
from tests.policies.test_stack_joins import rule_messages

ROOT = Path(__file__).resolve().parents[2]
RULE = "mlf-alerts-reach-someone"
PROD_STACKS = ("prod", "gcp-prod", "azure-prod")


@cache
def _plan(stack: str, notify: bool) -> tuple[ResourceRecord, ...]:
    loaded = stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    spec: dict[str, Any] = copy.deepcopy(loaded.spec_data)
    if not notify:
        spec.get("monitoring", {}).pop("notify", None)
    extra = {k: v for k, v in loaded.config.items() if k != "mlfabric:platform"}
    return tuple(plan_spec(spec, stack=stack, extra_config=extra).resources)


@pytest.mark.parametrize("stack", PROD_STACKS)
def test_a_prod_stack_with_endpoints_and_no_notify_target_pages_nobody(stack: str) -> None:
    [message] = rule_messages(RULE, list(_plan(stack, notify=False)))
    assert "notify nobody" in message


@pytest.mark.parametrize("stack", PROD_STACKS)
def test_the_example_prod_stacks_page_their_notify_targets(stack: str) -> None:
    assert rule_messages(RULE, list(_plan(stack, notify=True))) == []


def test_a_stack_without_endpoints_needs_no_target() -> None:
    assert verdicts(RULE, R("aws:sns/topic:Topic", "alerts")) == []


def test_a_gcp_pubsub_stream_alone_pages_nobody_but_an_email_channel_does() -> None:
    service = R("gcp:cloudrunv2/service:Service", "scorer", {"name": "scorer"})
    stream = R("gcp:monitoring/notificationChannel:NotificationChannel", "stream", {"type": "pubsub"})
    email = R("gcp:monitoring/notificationChannel:NotificationChannel", "oncall", {"type": "email"})
    assert len(verdicts(RULE, [service, stream])) == 1
    assert verdicts(RULE, [service, stream, email]) == []


def test_an_azure_action_group_without_receivers_pages_nobody() -> None:
    endpoint = R("azure-native:machinelearningservices:OnlineEndpoint", "scorer", {})
    empty = R("azure-native:monitor:ActionGroup", "ag", {"emailReceivers": [], "enabled": True})
    full = R("azure-native:monitor:ActionGroup", "ag", {"emailReceivers": [{"emailAddress": "a@b.c"}], "enabled": True})
    assert len(verdicts(RULE, [endpoint, empty])) == 1
    assert verdicts(RULE, [endpoint, full]) == []
