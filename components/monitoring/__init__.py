"""Monitoring: the outputs every cloud's monitoring component exposes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pulumi


@runtime_checkable
class MonitoringOutputs(Protocol):
    """What serving (alarm actions) and the stack outputs read from monitoring."""

    # where alarms are routed: SNS topic ARN (AWS), notification channel id (GCP), action group id (Azure)
    alert_topic: pulumi.Output[str]
    # platform dashboard (console URL)
    dashboard_url: pulumi.Output[str]
