"""The fake account the offline plan pretends to deploy into."""

from __future__ import annotations

from dataclasses import dataclass


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
