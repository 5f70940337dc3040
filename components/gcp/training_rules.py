"""What GCP builds for a GPU pool's interconnect, queued provisioning and reservation, and for the
shared file system — as data and rules, SDK-free (spec rules, capabilities, the cluster and the cost
inventory read them).

- ``interconnect.json``: per Compute Engine machine family, whether GKE can put a pool's nodes under
  a compact placement policy, whether mlfabric applies it, and what GPUDirect networking the family
  has (with sources). A pool with ``interconnect: auto`` of A2 (A100) or A3 (H100) gets one, in the
  cluster's first zone; G2 (L4) could but is left spread over the zones (a one-zone pool is a worse
  trade for single-GPU and Spot work), N1 (T4) cannot; those get standard networking (``pool_networking``).
- Queued provisioning (GKE Dynamic Workload Scheduler): the node pool GKE documents is created with
  ``--enable-queued-provisioning --enable-autoscaling --num-nodes=0 --location-policy=ANY
  --reservation-affinity=none --no-enable-autorepair``
  (https://cloud.google.com/kubernetes-engine/docs/how-to/provisioningrequest, read 2026-12-01), and
  Kueue's ProvisioningRequest check names the class ``queued-provisioning.gke.io``. So a queued pool
  must scale from zero and cannot consume a reservation; Spot is not part of the documented pool
  (Dynamic Workload Scheduler provisions its own flex-start capacity), so mlfabric refuses it too.
- Shared file system: Filestore's zonal tier (the high-throughput tier; CMEK is not available on
  the basic tiers, https://cloud.google.com/filestore/docs/cmek-organization-policy) sized 1 TiB to
  9.75 TiB in 256 GiB steps, or 10 TiB to 100 TiB in 2.5 TiB steps
  (https://cloud.google.com/filestore/docs/service-tiers, read 2026-12-01). Filestore has no link to
  a Cloud Storage bucket, so ``import_datasets`` is refused (``capabilities.py``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from mlfabric.components import catalog

if TYPE_CHECKING:
    from mlfabric.components.spec import GpuPoolSpec, PlatformSpec, Problems

INTERCONNECT_DATA: Final = Path(__file__).with_name("interconnect.json")
PROVISIONING_CLASS: Final = "queued-provisioning.gke.io"

FILESTORE_TIER: Final = "ZONAL"
FILESTORE_DRIVER: Final = "filestore.csi.storage.gke.io"
FILESTORE_SHARE: Final = "shared"
# (lowest GiB, highest GiB, step GiB) of each zonal capacity band.
FILESTORE_BANDS: Final = ((1024, 9984, 256), (10240, 102400, 2560))

Networking = Literal["compact", "queued", "standard"]


@dataclass(frozen=True)
class Family:
    """What one machine family offers multi-node training (``interconnect.json``)."""

    name: str
    # Compute Engine supports compact placement for the family
    compact_placement: bool
    # mlfabric adds a compact placement policy to the family's pools with interconnect: auto
    applied: bool
    gpudirect: str | None
    note: str
    source: str


@functools.cache
def families() -> dict[str, Family]:
    """The machine families ``interconnect.json`` knows, by family prefix (``a2``)."""
    data = json.loads(INTERCONNECT_DATA.read_text(encoding="utf-8"))
    return {name: Family(name, row["compact_placement"], row["applied"], row["gpudirect"], row["note"], row["source"])
            for name, row in data["families"].items()}


def family_of(machine: str) -> Family | None:
    """The family of a machine type (``a2`` for ``a2-ultragpu-8g``), or None when unknown."""
    return families().get(machine.split("-", 1)[0])


def pool_networking(pool: GpuPoolSpec, cloud: catalog.Cloud = "gcp") -> Networking:
    """What the pool's nodes get between them: a compact placement policy, Dynamic Workload
    Scheduler's provisioning (no placement policy), or standard networking."""
    if pool.interconnect == "off":
        return "standard"
    if pool.queued_provisioning:
        return "queued"
    shape = catalog.gpu_shape(cloud, pool.accelerator, pool.gpus_per_node)
    family = family_of(shape.machine)
    return "compact" if family is not None and family.compact_placement and family.applied else "standard"


def interconnect_note(pool: GpuPoolSpec) -> str | None:
    """Why an ``interconnect: auto`` pool gets nothing more than standard networking (or only
    part of what the machine has), for notes; None when there is nothing to say."""
    if pool.interconnect == "off":
        return None
    shape = catalog.gpu_shape("gcp", pool.accelerator, pool.gpus_per_node)
    family = family_of(shape.machine)
    networking = pool_networking(pool)
    if networking == "queued":
        return (f"pool {pool.name}: no compact placement with queued_provisioning (Dynamic Workload "
                "Scheduler places one request's nodes together on a best-effort basis)")
    if networking == "standard":
        return f"pool {pool.name}: {family.note if family else f'standard networking: no data for {shape.machine}'}"
    if family is not None and family.gpudirect:
        return f"pool {pool.name}: {family.note}"
    return None


def interconnect_notes(spec: PlatformSpec) -> list[str]:
    """One line per GPU pool whose ``interconnect: auto`` gives less than the machine could have."""
    if spec.cloud != "gcp" or spec.training is None:
        return []
    found = []
    for index, pool in enumerate(spec.training.gpu_pools):
        try:
            note = interconnect_note(pool)
        except catalog.CatalogError:
            continue
        if note:
            found.append(f"training.gpu_pools[{index}].interconnect: {note}")
    return found


def capacity_problem(capacity_gib: int) -> str | None:
    """Why Filestore's zonal tier cannot be ``capacity_gib`` in size, or None."""
    for low, high, step in FILESTORE_BANDS:
        if low <= capacity_gib <= high and (capacity_gib - low) % step == 0:
            return None
    return ("Filestore (zonal tier) is 1024 to 9984 GiB in steps of 256, or 10240 to 102400 GiB in "
            f"steps of 2560 (got {capacity_gib})")


def pool_problems(spec: PlatformSpec) -> Problems:
    """GPU pool settings GKE would refuse together."""
    problems: Problems = []
    if spec.training is None:
        return problems
    for index, pool in enumerate(spec.training.gpu_pools):
        where: tuple[str | int, ...] = ("training", "gpu_pools", index)
        if pool.queued_provisioning:
            if pool.min_nodes:
                problems.append(((*where, "min_nodes"), "a pool with queued_provisioning scales from zero: "
                                 f"Dynamic Workload Scheduler adds all of a job's nodes at once (got {pool.min_nodes})"))
            if pool.reservation is not None:
                problems.append(((*where, "reservation"), "a pool with queued_provisioning consumes no "
                                 "reservation on GKE (reservation affinity none): drop one of the two "
                                 f"(got {pool.reservation!r})"))
            if pool.spot:
                problems.append(((*where, "spot"), "a pool with queued_provisioning gets Dynamic Workload "
                                 "Scheduler capacity, not Spot VMs: set spot: false or drop "
                                 "queued_provisioning (got True)"))
    return problems


def shared_fs_problems(spec: PlatformSpec) -> Problems:
    """A shared file system size Filestore's zonal tier does not sell."""
    if spec.training is None or spec.training.shared_fs is None:
        return []
    problem = capacity_problem(spec.training.shared_fs.capacity_gib)
    return [(("training", "shared_fs", "capacity_gib"), problem)] if problem else []
