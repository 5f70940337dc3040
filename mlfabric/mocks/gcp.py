"""Fake GCP answers: physical names, ids and self links as the Google provider computes them."""

from __future__ import annotations

import hashlib
from typing import Any

from mlfabric.mocks.world import World


def _suffix(*parts: str, length: int = 7) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of a ``gcp:`` resource."""
    project = inputs.get("project") or world.gcp_project
    physical = inputs.get("name") or f"{name}-{_suffix(typ, name)}"
    module = typ.split(":")[1].split("/")[0]
    kind = typ.rsplit(":", 1)[-1]
    resource_path = f"projects/{project}/locations/{world.region}/{kind[0].lower() + kind[1:]}s/{physical}"
    return {
        "name": physical,
        "project": project,
        "selfLink": f"https://www.googleapis.com/{module}/v1/{resource_path}",
        "__id": resource_path,
    }


INVOKES: dict[str, Any] = {
    "gcp:organizations/getProject:getProject": lambda args, w: {
        "projectId": w.gcp_project,
        "number": w.gcp_project_number,
        "name": w.gcp_project,
        "id": f"projects/{w.gcp_project}",
    },
}
