"""The training cluster's shared file system on GCP: one Filestore instance (``training.shared_fs``).

Creates (children of the cluster component):

- ``gcp:projects/service:Service`` for ``file.googleapis.com`` (left on at destroy);
- the Filestore service agent (``gcp:projects/serviceIdentity:ServiceIdentity``,
  ``service-<number>@cloud-filer.iam.gserviceaccount.com``) and a ``gcp:kms/cryptoKeyIAMMember``
  letting it use the cluster's key (https://cloud.google.com/filestore/docs/cmek: the agent needs
  Cloud KMS CryptoKey Encrypter/Decrypter before the instance is created);
- ``gcp:filestore/instance:Instance`` ``<platform>-<environment>-shared``: the zonal tier (high
  throughput; the basic tiers take no CMEK) in the cluster's first zone, one NFS share ``shared`` of
  ``capacity_gib``, CMEK with the cluster's key, on the platform network by VPC peering
  (``DIRECT_PEERING``: Filestore picks a free internal range), and an export that only the nodes'
  subnet range may mount (IP-based access control: any other address of the VPC, and anything
  outside it, is refused). Stateful: deletion protection (Filestore's own and Pulumi's ``protect``)
  with the platform's.

Teams mount it through GKE's Filestore CSI driver (the cluster's ``gcp_filestore_csi_driver_config``
add-on) as a static PersistentVolume: volume handle ``modeInstance/<zone>/<instance>/<share>`` and the
attributes ``ip`` and ``volume``, as GKE documents for a pre-existing instance
(https://cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/filestore-csi-driver).
Root on the nodes is not squashed: jobs that run as root keep writing (the namespaces enforce the
``baseline`` pod security level, which allows root); use per-team UIDs to keep teams apart inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import enable_api, key_user, service_agent
from mlfabric.components.gcp.training_rules import FILESTORE_DRIVER, FILESTORE_SHARE, FILESTORE_TIER
from mlfabric.components.kubernetes.teams import SharedVolume
from mlfabric.components.spec import SharedFsSpec

FILESTORE_API: Final = "file.googleapis.com"


@dataclass(frozen=True)
class SharedFs:
    """The instance and how the CSI driver mounts it."""

    instance: gcp.filestore.Instance
    volume: SharedVolume
    # ClusterOutputs.shared_fs
    output: pulumi.Output[dict[str, Any]]


def volume_handle(zone: str, instance: str) -> str:
    """The Filestore CSI driver's handle of a pre-existing instance's share."""
    return f"modeInstance/{zone}/{instance}/{FILESTORE_SHARE}"


def filestore(
    name: str,
    spec: SharedFsSpec,
    ctx: PlatformContext,
    parent: pulumi.Resource,
    *,
    zone: pulumi.Output[str],
    key_id: pulumi.Input[str],
    network_id: pulumi.Input[str],
    node_range: pulumi.Input[str],
) -> SharedFs:
    """The Filestore instance of ``spec`` in ``zone``, encrypted with ``key_id``, mountable from
    ``node_range`` only."""
    api = enable_api(f"{name}-file-api", FILESTORE_API, ctx, parent)
    agent = service_agent(name, FILESTORE_API, ctx, parent, api)
    grant = key_user(f"{name}-shared-fs-filestore-agent", key_id, agent, parent)
    instance_name = f"{ctx.base_name}-shared"
    instance = gcp.filestore.Instance(
        f"{name}-shared",
        name=instance_name,
        project=ctx.account,
        location=zone,
        tier=FILESTORE_TIER,
        description=f"mlfabric {ctx.base_name}: shared training data",
        file_shares=gcp.filestore.InstanceFileSharesArgs(
            name=FILESTORE_SHARE,
            capacity_gb=spec.capacity_gib,
            nfs_export_options=[gcp.filestore.InstanceFileSharesNfsExportOptionArgs(
                ip_ranges=[node_range], access_mode="READ_WRITE", squash_mode="NO_ROOT_SQUASH",
            )],
        ),
        networks=[gcp.filestore.InstanceNetworkArgs(
            network=pulumi.Output.from_input(network_id).apply(lambda path: path.rstrip("/").rsplit("/", 1)[-1]),
            modes=["MODE_IPV4"],
            connect_mode="DIRECT_PEERING",
        )],
        kms_key_name=key_id,
        deletion_protection_enabled=ctx.deletion_protection,
        deletion_protection_reason="mlfabric: shared training data" if ctx.deletion_protection else None,
        labels=ctx.tags({"mlfabric-shared-fs": "training"}),
        opts=ctx.stateful(parent, depends_on=[api, grant]),
    )
    address = instance.networks.apply(lambda networks: networks[0].ip_addresses[0] if networks and
                                      networks[0].ip_addresses else "")
    handle = zone.apply(lambda z: volume_handle(z, instance_name))
    volume = SharedVolume(
        driver=FILESTORE_DRIVER, volume_handle=handle, capacity_gib=spec.capacity_gib,
        attributes={"ip": address, "volume": FILESTORE_SHARE},
    )
    output = pulumi.Output.all(instance.id, handle, address).apply(lambda args: {
        "id": args[0], "driver": FILESTORE_DRIVER, "volume_handle": args[1], "capacity_gib": spec.capacity_gib,
        "ip": args[2], "volume": FILESTORE_SHARE, "tier": FILESTORE_TIER,
    })
    return SharedFs(instance, volume, output)
