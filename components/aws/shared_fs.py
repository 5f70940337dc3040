"""The training cluster's shared file system on AWS: FSx for Lustre (``training.shared_fs``).

Creates (children of the cluster component):

- an ``aws:ec2/securityGroup:SecurityGroup`` for the file system admitting Lustre traffic only: TCP
  988 and 1018-1023 from the cluster security group (every node of the cluster carries it) and from
  the file system's own group (its servers talk to each other), and the same ports as its only
  egress ("File system access control with Amazon VPC", FSx for Lustre user guide);
- an ``aws:fsx/lustreFileSystem:LustreFileSystem``: ``PERSISTENT_2`` (the deployment type data
  repository associations need), SSD, 125 MB/s per TiB, Lustre 2.15, LZ4 compression, encrypted at
  rest with the platform's storage key, in the cluster's first private subnet (a persistent Lustre
  file system lives in one subnet; GPU pools with EFA are pinned to the same one), protected in
  prod like the buckets;
- with ``import_datasets``: an ``aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation``
  linking ``/datasets`` to the datasets bucket (metadata imported at creation; new, changed and
  deleted objects imported and files exported back automatically), and an ``aws:kms/grant:Grant``
  that lets the file system's S3 service-linked role
  (``AWSServiceRoleForFSxS3Access_<file system id>``) use the storage key for that bucket's objects
  only (the bucket is SSE-KMS with bucket keys, so the encryption context is the bucket ARN). The
  FSx guide asks for a key-policy statement naming that role; a key policy cannot name a role that
  only exists once the file system does, so a grant (created after the association) does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from mlfabric.components.context import PlatformContext
from mlfabric.components.spec.training import SharedFsSpec

FSX_CSI_DRIVER: Final = "fsx.csi.aws.com"
FSX_CSI_ADDON: Final = "aws-fsx-csi-driver"
FSX_CSI_SERVICE_ACCOUNT: Final = ("kube-system", "fsx-csi-controller-sa")
DEPLOYMENT_TYPE: Final = "PERSISTENT_2"
STORAGE_TYPE: Final = "SSD"
# MB/s per TiB of storage: the lowest PERSISTENT_2 SSD tier (125, 250, 500, 1000).
THROUGHPUT_MB_S_PER_TIB: Final = 125
LUSTRE_VERSION: Final = "2.15"
# Lustre's ports: 988 (LNet) and 1018-1023.
LUSTRE_PORTS: Final = ((988, 988), (1018, 1023))
DATASETS_PATH: Final = "/datasets"
# The key operations the file system's S3 role needs on the bucket's objects (FSx for Lustre user
# guide, "Working with server-side encrypted Amazon S3 buckets"; DescribeKey cannot be granted under
# an encryption-context constraint, and S3 does not need it for object reads and writes).
GRANT_OPERATIONS: Final = ("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                           "GenerateDataKeyWithoutPlaintext")
S3_EVENTS: Final = ("NEW", "CHANGED", "DELETED")


@dataclass(frozen=True)
class DatasetsBucket:
    """The bucket the file system is linked to."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass(frozen=True)
class SharedFileSystem:
    """What the cluster's outputs and the teams' volumes read."""

    file_system: aws.fsx.LustreFileSystem
    capacity_gib: int

    @property
    def attributes(self) -> dict[str, pulumi.Output[str]]:
        """The FSx CSI driver's volume attributes of a static volume."""
        return {"dnsname": self.file_system.dns_name, "mountname": self.file_system.mount_name}

    def outputs(self) -> pulumi.Output[dict[str, Any]]:
        """ClusterOutputs.shared_fs."""
        fs = self.file_system
        return pulumi.Output.all(fs.id, fs.dns_name, fs.mount_name).apply(lambda v: {
            "id": v[0], "driver": FSX_CSI_DRIVER, "volume_handle": v[0], "capacity_gib": self.capacity_gib,
            "dnsname": v[1], "mountname": v[2],
        })


def _lustre_rules(logical: str, group: aws.ec2.SecurityGroup, peers: dict[str, pulumi.Input[str]],
                  ctx: PlatformContext, owner: pulumi.Resource) -> None:
    child = pulumi.ResourceOptions(parent=owner)
    for peer, peer_id in peers.items():
        for low, high in LUSTRE_PORTS:
            ports = str(low) if low == high else f"{low}-{high}"
            for direction, rule in (("in", aws.vpc.SecurityGroupIngressRule), ("out", aws.vpc.SecurityGroupEgressRule)):
                rule(
                    f"{logical}-{direction}-{peer}-{ports}",
                    security_group_id=group.id,
                    referenced_security_group_id=peer_id,
                    ip_protocol="tcp",
                    from_port=low,
                    to_port=high,
                    description=f"Lustre {ports} {'from' if direction == 'in' else 'to'} the {peer}",
                    tags=ctx.tags(),
                    opts=child,
                )


def shared_file_system(
    owner: pulumi.Resource,
    ctx: PlatformContext,
    name: str,
    spec: SharedFsSpec,
    *,
    vpc_id: pulumi.Input[str],
    subnet_id: pulumi.Input[str],
    cluster_security_group: pulumi.Input[str],
    key_arn: pulumi.Input[str],
    datasets: DatasetsBucket | None,
    account: pulumi.Input[str],
    partition: pulumi.Input[str],
) -> SharedFileSystem:
    """The FSx for Lustre file system, its security group and (with ``datasets``) its S3 link."""
    logical = f"{name}-shared-fs"
    group = aws.ec2.SecurityGroup(
        logical,
        description=f"mlfabric {ctx.base_name}: FSx for Lustre, reachable from the cluster's nodes only",
        vpc_id=vpc_id,
        tags=ctx.tags({"Name": f"{ctx.base_name}-shared-fs"}),
        opts=pulumi.ResourceOptions(parent=owner),
    )
    _lustre_rules(logical, group, {"cluster": cluster_security_group, "file-system": group.id}, ctx, owner)
    file_system = aws.fsx.LustreFileSystem(
        logical,
        storage_capacity=spec.capacity_gib,
        storage_type=STORAGE_TYPE,
        deployment_type=DEPLOYMENT_TYPE,
        per_unit_storage_throughput=THROUGHPUT_MB_S_PER_TIB,
        file_system_type_version=LUSTRE_VERSION,
        data_compression_type="LZ4",
        subnet_ids=subnet_id,  # a single subnet (the SDK takes one id)
        security_group_ids=[group.id],
        kms_key_id=key_arn,
        tags=ctx.tags({"Name": f"{ctx.base_name}-shared-fs"}),
        opts=ctx.stateful(owner, depends_on=[group]),
    )
    if spec.import_datasets and datasets is not None:
        link = aws.fsx.DataRepositoryAssociation(
            f"{logical}-datasets",
            file_system_id=file_system.id,
            data_repository_path=pulumi.Output.concat("s3://", datasets.name),
            file_system_path=DATASETS_PATH,
            batch_import_meta_data_on_create=True,
            s3=aws.fsx.DataRepositoryAssociationS3Args(
                auto_import_policy=aws.fsx.DataRepositoryAssociationS3AutoImportPolicyArgs(events=list(S3_EVENTS)),
                auto_export_policy=aws.fsx.DataRepositoryAssociationS3AutoExportPolicyArgs(events=list(S3_EVENTS)),
            ),
            tags=ctx.tags(),
            opts=pulumi.ResourceOptions(parent=owner),
        )
        role = pulumi.Output.format(
            "arn:{0}:iam::{1}:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/"
            "AWSServiceRoleForFSxS3Access_{2}", partition, account, file_system.id)
        aws.kms.Grant(
            f"{logical}-datasets",
            name=f"{ctx.base_name}-shared-fs-datasets",
            key_id=key_arn,
            grantee_principal=role,
            operations=list(GRANT_OPERATIONS),
            constraints=[aws.kms.GrantConstraintArgs(encryption_context_subset={"aws:s3:arn": datasets.arn})],
            # FSx creates the service-linked role with the association.
            opts=pulumi.ResourceOptions(parent=owner, depends_on=[link]),
        )
    return SharedFileSystem(file_system, spec.capacity_gib)


def csi_driver_policy(file_system_arn: str) -> dict[str, Any]:
    """The FSx CSI controller's IRSA policy: static volumes need no FSx call but a describe of this
    file system (the add-on authenticates with a role; it never creates or deletes file systems)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DescribeTheSharedFileSystem", "Effect": "Allow", "Action": ["fsx:DescribeFileSystems"],
        "Resource": file_system_arn,
    }]}
