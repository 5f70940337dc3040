"""The output contract of every concern: what each cloud's component exposes, with the same names
on every cloud. Other concerns read these through the platform context; `MLPlatform` exports them as
stack outputs."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pulumi


@runtime_checkable
class NetworkOutputs(Protocol):
    """What the cluster, serving and private endpoints read from the network."""

    # VPC id (AWS), VPC network id (GCP), VNet id (Azure)
    network_id: pulumi.Output[str]
    # subnets workloads run in (one per zone on AWS; the one regional subnet on GCP; AKS subnet on Azure)
    private_subnet_ids: pulumi.Output[list[str]]
    # subnets for internet-facing load balancers and NAT ([] where the cloud has no such subnet)
    public_subnet_ids: pulumi.Output[list[str]]


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


@runtime_checkable
class RegistryOutputs(Protocol):
    """What serving and CI read from the registries."""

    # spec repository name -> image URL prefix (push/pull address)
    registry_urls: pulumi.Output[dict[str, str]]
    # spec model name -> model registry id (model package group ARN, Vertex/Azure ML registry id)
    model_registry_ids: pulumi.Output[dict[str, str]]


@runtime_checkable
class ClusterOutputs(Protocol):
    """What serving, RBAC and the stack outputs read from the cluster."""

    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    # a kubeconfig for the cluster; always a secret
    kubeconfig: pulumi.Output[str]
    # OIDC issuer URL used for workload identity (IRSA, GKE Workload Identity, AKS workload identity)
    oidc_issuer_url: pulumi.Output[str]
    # spec GPU pool name -> node group / node pool name
    gpu_pool_names: pulumi.Output[dict[str, str]]


@runtime_checkable
class MonitoringOutputs(Protocol):
    """What serving (alarm actions) and the stack outputs read from monitoring."""

    # where alarms are routed: SNS topic ARN (AWS), notification channel id (GCP), action group id (Azure)
    alert_topic: pulumi.Output[str]
    # platform dashboard (console URL)
    dashboard_url: pulumi.Output[str]


@runtime_checkable
class ServingOutputs(Protocol):
    """What CI smoke tests and monitoring read from serving."""

    # spec endpoint name -> cloud endpoint name
    endpoint_names: pulumi.Output[dict[str, str]]
    # spec endpoint name -> HTTPS invocation URL
    endpoint_urls: pulumi.Output[dict[str, str]]


@runtime_checkable
class RbacOutputs(Protocol):
    """What users and training jobs read from RBAC."""

    # persona -> role the persona's principals assume (IAM role ARN, custom role / group id, ...)
    persona_roles: pulumi.Output[dict[str, str]]
    # identity training pods run as (IAM role ARN, Google service account email, managed identity client id)
    workload_identity: pulumi.Output[str]
