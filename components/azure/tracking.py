"""Experiment tracking on Azure: the Azure ML workspace's own MLflow endpoint.

Creates nothing: every Azure ML workspace is an MLflow tracking server (runs, metrics, artifacts,
model registry) with no server to size, patch or pay for. This component turns the workspace
(``mlfabric.components.azure.registry``) into the ``tracking_uri`` output, the URI MLflow clients
set as ``MLFLOW_TRACKING_URI`` (with the ``azureml-mlflow`` plugin installed).

What makes it private and encrypted is the workspace itself: public network access off with a
private endpoint (``network.private_endpoints``, the prod default), so the endpoint answers only
through the platform's VNet; Entra ID tokens only (MLflow's calls carry the caller's identity);
runs and metrics encrypted with the platform's Key Vault key (the workspace's customer-managed
key), artifacts in the platform's storage account (its ``workspaceartifactstore``), encrypted with
the same key. Who may log and read runs is RBAC's persona table (``rbac.PERSONA_ROLES``): AzureML Data
Scientist on the workspace for data scientists, ML engineers, CI and admins, Reader for readers.

Limits: run artifacts go where Azure ML puts them, the workspace's system datastore in the platform's
storage account, not the ``artifacts`` container (an ARM declaration cannot redirect them);
``tracking.size`` has nothing to set (the capability table refuses medium and large).
"""

from __future__ import annotations

from typing import Final

import pulumi

from mlfabric.components.azure.common import WorkspaceScopes
from mlfabric.components.concerns import TrackingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import TrackingSpec

# The workspace's MLflow tracking URI, per Microsoft's "Configure MLflow for Azure Machine Learning"
# (learn.microsoft.com/azure/machine-learning/how-to-use-mlflow-configure-tracking, the "manual"
# tab: azureml://{region}.api.azureml.ms/mlflow/v1.0/subscriptions/{sub}/resourceGroups/{group}/
# providers/Microsoft.MachineLearningServices/workspaces/{workspace}, i.e. the workspace's id).
TRACKING_URI_FORMAT: Final = "azureml://{region}.api.azureml.ms/mlflow/v1.0{workspace_id}"


def tracking_uri(region: str, workspace_id: str) -> str:
    """The MLflow tracking URI of the workspace ``workspace_id`` in ``region``."""
    return TRACKING_URI_FORMAT.format(region=region, workspace_id=workspace_id)


class AzureTracking(TrackingOutputs):
    """The Azure ML workspace's MLflow endpoint as the platform's tracking server."""

    type_token = "mlfabric:tracking:AzureTracking"
    needs = ("registry",)

    def __init__(
        self,
        name: str,
        spec: TrackingSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(ctx.registry, WorkspaceScopes):
            raise pulumi.RunError("tracking: Azure's tracking server is the ML workspace (the registry concern)")
        super().__init__(name, spec, ctx, opts)
        region = ctx.region
        self.tracking_uri = ctx.registry.ml_workspace_id.apply(lambda workspace: tracking_uri(region, workspace))
        self.register_contract()
