"""Fake Azure answers: ARM resource ids and names as azure-native computes them."""

from __future__ import annotations

from typing import Any

from mlfabric.mocks.world import World


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of an ``azure-native:`` resource."""
    group = inputs.get("resourceGroupName") or name
    kind = typ.rsplit(":", 1)[-1]
    physical = name
    return {
        "name": physical,
        "__id": f"/subscriptions/{world.azure_subscription_id}/resourceGroups/{group}"
        f"/providers/mlfabric.offline/{kind}/{physical}",
    }


INVOKES: dict[str, Any] = {
    "azure-native:authorization:getClientConfig": lambda args, w: {
        "clientId": "33333333-3333-3333-3333-333333333333",
        "objectId": w.azure_object_id,
        "subscriptionId": w.azure_subscription_id,
        "tenantId": w.azure_tenant_id,
    },
}
