"""Object storage: the outputs every cloud's storage component exposes.

``aws.AwsStorage`` (S3 + KMS), ``gcp.GcpStorage`` (GCS + Cloud KMS) and ``azure.AzureStorage``
(a storage account with one blob container per bucket + Key Vault) all satisfy this Protocol.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pulumi


@runtime_checkable
class StorageOutputs(Protocol):
    """What other concerns and the stack outputs read from storage, on every cloud."""

    # spec bucket name -> physical name (S3/GCS bucket name, Azure container name)
    bucket_names: pulumi.Output[dict[str, str]]
    # spec bucket name -> URL (s3://..., gs://..., https://<account>.blob.core.windows.net/<c>)
    bucket_urls: pulumi.Output[dict[str, str]]
    # spec bucket name -> id IAM policies scope to (S3 ARN, GCS bucket name, container resource id)
    bucket_ids: pulumi.Output[dict[str, str]]
    # customer-managed key that encrypts the buckets (KMS ARN, Cloud KMS id, Key Vault key id)
    encryption_key_id: pulumi.Output[str]
    # where access logs go ("" when access logging is off)
    access_log_bucket: pulumi.Output[str]
