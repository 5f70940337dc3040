"""Which EC2 GPU instance types have Elastic Fabric Adapter, and how many EFA interfaces a node of
each gets (SDK-free: the spec rules, the capability table and the cluster read it).

The data and its sources are in ``efa_instance_types.json``. A GPU pool uses EFA when its
``interconnect`` is ``auto`` and its instance type is listed there; every other pool keeps the
standard (ENA) networking of its node group.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Final

from mlfabric.components import catalog

EFA_FILE: Final = Path(__file__).with_name("efa_instance_types.json")


@functools.cache
def efa_network_cards() -> dict[str, int]:
    """EFA-capable instance type -> its network cards (one EFA interface each)."""
    data = json.loads(EFA_FILE.read_text(encoding="utf-8"))
    return {name: int(row["network_cards"]) for name, row in data["instance_types"].items()}


def efa_interfaces(instance_type: str) -> int:
    """How many EFA interfaces a node of ``instance_type`` gets (0: the type has no EFA)."""
    return efa_network_cards().get(instance_type, 0)


def pool_instance_type(accelerator: str, gpus_per_node: int | None) -> str | None:
    """The EC2 instance type of a pool, or None when the catalogue does not sell the shape (reported
    by the cloud-neutral rules)."""
    try:
        return catalog.gpu_shape("aws", accelerator, gpus_per_node).machine
    except catalog.CatalogError:
        return None


def standard_networking_note(instance_type: str) -> str:
    """What ``interconnect: auto`` gives a pool whose type has no EFA."""
    return f"standard networking (no EFA on {instance_type})"
