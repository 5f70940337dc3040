"""Fast interconnect on Azure (``training.gpu_pools[].interconnect``), read from ``interconnect.json``.

A pool with ``interconnect: auto`` on a VM size with an InfiniBand fabric (the ND sizes) is placed
in its own proximity placement group, so its nodes land in one datacenter: Azure configures the
InfiniBand connections between the VMs of one scale set (the pool) itself. mlfabric does not install
the InfiniBand drivers and NVIDIA Network Operator that RDMA from pods needs (NCCL then runs over
the VMs' accelerated Ethernet): "standard networking: InfiniBand is not configured by mlfabric".
Every other size (NC: no InfiniBand) gets standard networking and no placement group, so existing
pools are never replaced (a pool takes a placement group only when it is created).

SDK-free: the spec rules and capability notes read it too.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Final

from mlfabric.components import catalog

DATA_PATH: Final = Path(__file__).with_name("interconnect.json")
STANDARD_NETWORKING: Final = "standard networking: InfiniBand is not configured by mlfabric"


@functools.cache
def infiniband_sizes() -> frozenset[str]:
    """The catalogue's VM sizes with an InfiniBand fabric."""
    rows = json.loads(DATA_PATH.read_text(encoding="utf-8"))["infiniband"]
    return frozenset(row["vm_size"] for row in rows)


def in_placement_group(vm_size: str, interconnect: bool, reservation: str | None = None) -> bool:
    """Whether a pool of ``vm_size`` gets a proximity placement group (``interconnect``: spec auto).

    Not with a capacity reservation: capacity reservations do not support proximity placement groups
    (learn.microsoft.com/azure/virtual-machines/capacity-reservation-overview, "Limitations and
    restrictions"), so the reservation wins and the pool keeps the scale set's own placement."""
    return interconnect and reservation is None and vm_size in infiniband_sizes()


def pool_note(accelerator: str, gpus_per_node: int | None, interconnect: str) -> str | None:
    """What ``interconnect: auto`` gives a pool on Azure, as a note (None for ``off``)."""
    if interconnect != "auto":
        return None
    try:
        machine = catalog.gpu_shape("azure", accelerator, gpus_per_node).machine
    except catalog.CatalogError:
        return None
    if machine in infiniband_sizes():
        return (f"{STANDARD_NETWORKING} ({machine} has an InfiniBand fabric: the pool gets a proximity "
                "placement group; RDMA from pods needs NVIDIA's Network Operator, which you install)")
    return f"{STANDARD_NETWORKING} ({machine} has no InfiniBand: accelerated Ethernet)"
