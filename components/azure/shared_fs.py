"""The training cluster's shared file system on Azure: Azure Managed Lustre, and the CSI driver that
mounts it in AKS (``training.shared_fs``).

Creates, as children of the cluster component (what ``shared_fs.json`` says, with its sources):

- a ``keyvault:Key`` ``lustre-cmk`` (RSA 2048, the only size Azure Managed Lustre takes; RSA-HSM in
  prod) in the cluster's KMS vault: Managed Lustre needs a vault open to all networks, which the
  KMS vault already is and the storage vault (firewalled) is not;
- a ``managedidentity:UserAssignedIdentity`` ``id-<platform>-<env>-lustre`` allowed to wrap and
  unwrap with that one key (``common.key_user_identity``), through which the file system reads it;
- ``storagecache:AmlFilesystem`` ``amlfs-<platform>-<env>`` in the network's ``snet-lustre``
  subnet (reachable only from the AKS subnet, see ``network.py``), zone 1, encrypted with that key,
  the throughput tier ``lustre_tier`` picks for the capacity, root squash off (the platform's pods
  and the CSI node plugin mount as root), a weekly maintenance window, protected and retained in
  prod;
- through the cluster's Kubernetes provider, the Azure Lustre CSI driver's node plugin: a
  ``yaml/v2:ConfigGroup`` of the pinned release manifests (applied by the provider at deploy time;
  offline it is one recorded resource).

Blob integration (``import_datasets``) is refused by the spec rules: it needs shared-key access on
the storage account, which the platform keeps off (Entra ID only).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import keyvault, storagecache

from mlfabric.components.azure.common import key_type, key_user_identity
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.context import PlatformContext
from mlfabric.components.kubernetes.teams import SharedVolume
from mlfabric.components.spec import SharedFsSpec

DATA_PATH: Final = Path(__file__).with_name("shared_fs.json")
# Managed Lustre takes RSA 2048-bit keys only (shared_fs.json "encryption").
KEY_SIZE_BITS: Final = 2048
GIB_PER_TIB: Final = 1024
# Maintenance: Sunday 02:00 UTC, out of the working week's training runs (updates come about every
# two months; workloads pause while one is applied).
MAINTENANCE_DAY: Final = storagecache.MaintenanceDayOfWeekType.SUNDAY
MAINTENANCE_TIME_UTC: Final = "02:00"
# A file system lives in one zone; the GPU pools are not zonal, so the first zone.
ZONE: Final = "1"


@dataclass(frozen=True)
class Tier:
    """One Managed Lustre throughput tier: its SKU and the capacities it sells (TiB)."""

    sku: str
    mbps_per_tib: int
    min_tib: int
    max_tib: int
    step_tib: int

    def sells(self, tib: int) -> bool:
        return self.min_tib <= tib <= self.max_tib and tib % self.step_tib == 0


@functools.cache
def data() -> dict[str, Any]:
    """``shared_fs.json``: tiers, subnet sizes, the CSI driver release, with their sources."""
    loaded: dict[str, Any] = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    return loaded


def tiers() -> tuple[Tier, ...]:
    """The throughput tiers, fastest first."""
    return tuple(Tier(**row) for row in data()["tiers"]["rows"])


def max_subnet_tib() -> int:
    """The largest capacity Microsoft gives a subnet size for (the /23 the network creates)."""
    return max(int(row["max_tib"]) for row in data()["subnet"]["rows"])


def lustre_tier(capacity_gib: int) -> Tier | None:
    """The fastest tier that sells ``capacity_gib`` (whole TiB), or None: training reads at the tier's
    throughput per TiB, so the fastest tier the capacity allows is the one that serves GPUs best."""
    if capacity_gib % GIB_PER_TIB:
        return None
    tib = capacity_gib // GIB_PER_TIB
    return next((tier for tier in tiers() if tier.sells(tib)), None)


def csi_manifests() -> list[str]:
    """The pinned URLs of the CSI driver manifests mlfabric applies."""
    driver = data()["csi_driver"]
    return [f"{driver['base_url']}{path}" for path in driver["manifests"]]


@dataclass(frozen=True)
class SharedFileSystem:
    """What the cluster exports (``ClusterOutputs.shared_fs``) and teams mount."""

    filesystem: storagecache.AmlFilesystem
    outputs: pulumi.Output[dict[str, Any]]
    volume: SharedVolume


def create(
    owner: pulumi.Resource,
    name: str,
    spec: SharedFsSpec,
    ctx: PlatformContext,
    subnet_id: pulumi.Input[str],
    kms_key: keyvault.Key,
    subscription: pulumi.Output[str],
) -> SharedFileSystem:
    """The Managed Lustre file system of ``spec`` (its tier checked by the spec rules)."""
    tier = lustre_tier(spec.capacity_gib)
    assert tier is not None, f"spec rules refuse {spec.capacity_gib} GiB"
    group = prerequisites_of(ctx).resource_group_name
    # The KMS vault's id and name, from its key's id: .../vaults/<vault>/keys/<key>.
    vault_id = kms_key.id.apply(lambda key_id: key_id.split("/keys/", 1)[0])
    vault_name = vault_id.apply(lambda found: found.rsplit("/", 1)[-1])
    key = keyvault.Key(
        f"{name}-lustre",
        key_name="lustre-cmk",
        vault_name=vault_name,
        resource_group_name=group,
        properties=keyvault.KeyPropertiesArgs(
            kty=key_type(ctx.environment),
            key_size=KEY_SIZE_BITS,
            key_ops=[keyvault.JsonWebKeyOperation.WRAP_KEY, keyvault.JsonWebKeyOperation.UNWRAP_KEY],
            attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
        ),
        tags=ctx.tags(),
        opts=ctx.stateful(owner),
    )
    identity, key_access = key_user_identity(owner, name, ctx, "lustre", key.id, subscription,
                                             "Azure Managed Lustre disks")
    filesystem = storagecache.AmlFilesystem(
        f"{name}-lustre",
        aml_filesystem_name=f"amlfs-{ctx.base_name}",
        resource_group_name=group,
        location=ctx.region,
        zones=[ZONE],
        sku=storagecache.SkuNameArgs(name=tier.sku),
        storage_capacity_ti_b=spec.capacity_gib // GIB_PER_TIB,
        filesystem_subnet=subnet_id,
        maintenance_window=storagecache.AmlFilesystemMaintenanceWindowArgs(
            day_of_week=MAINTENANCE_DAY, time_of_day_utc=MAINTENANCE_TIME_UTC,
        ),
        identity=storagecache.AmlFilesystemIdentityArgs(
            type=storagecache.AmlFilesystemIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id],
        ),
        encryption_settings=storagecache.AmlFilesystemEncryptionSettingsArgs(
            key_encryption_key=storagecache.KeyVaultKeyReferenceArgs(
                # Managed Lustre takes a versioned key URL (shared_fs.json "encryption").
                key_url=key.key_uri_with_version,
                source_vault=storagecache.KeyVaultKeyReferenceSourceVaultArgs(id=vault_id),
            ),
        ),
        root_squash_settings=storagecache.AmlFilesystemRootSquashSettingsArgs(mode="None"),
        tags=ctx.tags(),
        opts=ctx.stateful(owner, depends_on=[key_access]),
    )
    driver = data()["csi_driver"]
    mgs = filesystem.client_info.apply(lambda info: (info.mgs_address if info else None) or "")
    attributes: dict[str, pulumi.Input[str]] = {"mgs-ip-address": mgs, "fs-name": driver["fs_name"]}
    volume = SharedVolume(
        driver=driver["name"],
        volume_handle=filesystem.id,
        capacity_gib=spec.capacity_gib,
        attributes=attributes,
        mount_options=tuple(driver["mount_options"]),
    )
    outputs = pulumi.Output.all(filesystem.id, mgs).apply(lambda args: {
        "id": args[0], "driver": driver["name"], "volume_handle": args[0], "capacity_gib": spec.capacity_gib,
        "mgs-ip-address": args[1], "fs-name": driver["fs_name"], "sku": tier.sku,
    })
    return SharedFileSystem(filesystem, outputs, volume)


def install_csi_driver(name: str, opts: pulumi.ResourceOptions) -> k8s.yaml.v2.ConfigGroup:
    """The Azure Lustre CSI driver's node plugin and CSIDriver object, from the pinned release."""
    return k8s.yaml.v2.ConfigGroup(f"{name}-lustre-csi", files=csi_manifests(), opts=opts)
