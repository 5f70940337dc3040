"""Notebooks on GCP: one Vertex AI Workbench instance per team, running as the team's identity, with
no public IP, stopping when idle.

Creates (children of the ``mlfabric:notebooks:GcpNotebooks`` component):

- the Notebooks API (``gcp:projects/service:Service``, left enabled);
- the Compute Engine agent's ``roles/cloudkms.cryptoKeyEncrypterDecrypter`` on the platform (storage)
  key, which encrypts the notebooks' disks (``<platform>-notebooks-compute-agent``);
- per environment (each team of ``notebooks.teams``, every team when omitted; with no teams one
  ``platform`` environment) a ``gcp:workbench/instance:Instance`` ``<platform>-<environment>-<team>``
  in the region's first zone: ``notebooks.machine`` (``e2-standard-4`` when omitted), the team's
  Google service account (``platform``: RBAC's workload identity), no external IP, on the platform
  subnet (egress through Cloud NAT), Shielded VM (secure boot, vTPM, integrity monitoring), boot and
  data disks CMEK with the platform key, and idle shutdown after ``notebooks.idle_minutes`` through the
  ``idle-timeout-seconds`` metadata key (https://cloud.google.com/vertex-ai/docs/workbench/instances/
  manage-metadata: "Enables idle shutdown ... An integer representing the idle time in seconds");
  deletion protection in prod;
- per member of the team whose persona is not ``reader``, a ``gcp:serviceaccount/iAMMember:IAMMember``
  ``roles/iam.serviceAccountUser`` on the team's service account: a Workbench instance in service
  account mode opens JupyterLab to principals that may act as its service account, and runs their
  code as that account (its team prefix, queue and the tracking server).

``notebooks``: environment -> the instance's JupyterLab proxy URL.

Not granted: starting an idle-stopped instance needs ``notebooks.instances.start`` (e.g.
``roles/notebooks.admin`` on the instance), which is the platform admins' (an admin of an instance can
also change its settings).
"""

from __future__ import annotations

import functools
from typing import Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components import naming
from mlfabric.components.concerns import NotebooksOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import (
    COMPUTE_API,
    dict_output,
    enable_apis,
    key_user,
    project_id,
    service_agent,
)
from mlfabric.components.spec import NotebooksSpec, team_members

NOTEBOOKS_API: Final = "notebooks.googleapis.com"
DEFAULT_MACHINE: Final = "e2-standard-4"
IDLE_METADATA_KEY: Final = "idle-timeout-seconds"
ACT_AS: Final = "roles/iam.serviceAccountUser"
PLATFORM_ENVIRONMENT: Final = "platform"
INSTANCE_ID_MAX: Final = 63
_SECONDS_PER_MINUTE: Final = 60


def instance_id(base_name: str, environment: str) -> str:
    """The Workbench instance id, within 63 characters (hashed when longer)."""
    candidate = f"{base_name}-{environment}"
    if len(candidate) <= INSTANCE_ID_MAX:
        return candidate
    digest = naming.short_hash(base_name, environment)
    return f"{candidate[: INSTANCE_ID_MAX - len(digest) - 1].rstrip('-')}-{digest}"


def idle_metadata(spec: NotebooksSpec) -> dict[str, str]:
    """The instance metadata that turns idle shutdown on after ``idle_minutes``."""
    return {IDLE_METADATA_KEY: str(spec.idle_minutes * _SECONDS_PER_MINUTE)}


def _url(proxy_uri: str) -> str:
    """JupyterLab's URL (the API answers with the proxy host only)."""
    return proxy_uri if proxy_uri.startswith("https://") else f"https://{proxy_uri}"


def _identity(team: str, teams: dict[str, dict[str, str]]) -> str:
    return teams[team]["identity"]


class GcpNotebooks(NotebooksOutputs):
    """Vertex AI Workbench instances per team: team identity, no public IP, CMEK, idle shutdown."""

    type_token = "mlfabric:notebooks:GcpNotebooks"
    needs = ("network", "storage", "teams", "rbac", "tracking")

    def __init__(self, name: str, spec: NotebooksSpec, ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        # The spec rules refused notebooks without a network, or without teams and a workload identity.
        super().__init__(name, spec, ctx, opts)
        assert ctx.network is not None and ctx.storage is not None, "notebooks need network and storage"
        apis = enable_apis(f"{name}-notebooks", ctx, self, NOTEBOOKS_API)
        grant = key_user(f"{name}-notebooks-compute-agent", ctx.storage.encryption_key_id,
                         service_agent(name, COMPUTE_API, ctx, self, None), self)
        self._after: list[pulumi.Resource] = [*apis.values(), grant]
        self._zone = gcp.compute.get_zones_output(
            region=ctx.region, project=ctx.account, status="UP", opts=pulumi.InvokeOutputOptions(parent=self)
        ).names.apply(lambda names: sorted(names)[0])
        self._project = project_id(ctx, self)
        urls = {environment: self._instance(environment, identity).proxy_uri.apply(_url)
                for environment, identity in self._environments().items()}
        self.notebooks = dict_output(urls)
        self.register_contract()

    def _environments(self) -> dict[str, pulumi.Output[str]]:
        """Environment -> the service account email it runs as."""
        ctx = self._ctx
        declared = [team.name for team in ctx.spec.teams] if ctx.spec is not None else []
        teams = self._spec.teams if self._spec.teams is not None else declared
        if teams and ctx.teams is not None:
            handle = ctx.teams
            return {team: handle.teams.apply(functools.partial(_identity, team)) for team in teams}
        assert ctx.rbac is not None, "notebooks without teams run as RBAC's workload identity"
        return {PLATFORM_ENVIRONMENT: ctx.rbac.workload_identity}

    def _instance(self, environment: str, identity: pulumi.Output[str]) -> gcp.workbench.Instance:
        ctx, spec = self._ctx, self._spec
        assert ctx.network is not None and ctx.storage is not None
        key = ctx.storage.encryption_key_id
        logical = f"{self._name}-notebook-{environment}"
        instance = gcp.workbench.Instance(
            logical,
            instance_id=instance_id(ctx.base_name, environment),
            project=ctx.account,
            location=self._zone,
            gce_setup=gcp.workbench.InstanceGceSetupArgs(
                machine_type=spec.machine or DEFAULT_MACHINE,
                service_accounts=[gcp.workbench.InstanceGceSetupServiceAccountArgs(email=identity)],
                disable_public_ip=True,
                enable_ip_forwarding=False,
                network_interfaces=[gcp.workbench.InstanceGceSetupNetworkInterfaceArgs(
                    network=ctx.network.network_id,
                    subnet=ctx.network.private_subnet_ids.apply(lambda ids: ids[0]),
                )],
                shielded_instance_config=gcp.workbench.InstanceGceSetupShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True,
                ),
                boot_disk=gcp.workbench.InstanceGceSetupBootDiskArgs(disk_encryption="CMEK", kms_key=key),
                data_disks=gcp.workbench.InstanceGceSetupDataDisksArgs(disk_encryption="CMEK", kms_key=key),
                metadata=idle_metadata(spec),
            ),
            # JupyterLab through Google's proxy (IAM-authenticated): the only way in without a public IP.
            disable_proxy_access=False,
            enable_deletion_protection=ctx.deletion_protection,
            labels=ctx.tags({"mlfabric-notebook": environment}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._after),
        )
        self._users(logical, environment, identity)
        return instance

    def _users(self, logical: str, environment: str, identity: pulumi.Output[str]) -> None:
        """The team's non-reader members may open JupyterLab (act as the team's service account)."""
        ctx = self._ctx
        if ctx.spec is None or environment == PLATFORM_ENVIRONMENT:
            return
        principals = sorted({p for member in team_members([t for t in ctx.spec.teams if t.name == environment], "gcp")
                             if member.persona != "reader" and ctx.spec.rbac.template(member.persona) != "reader"
                             for p in member.principals if not p.startswith("domain:")})
        account = pulumi.Output.all(self._project, identity).apply(lambda pe: f"projects/{pe[0]}/serviceAccounts/{pe[1]}")
        for principal in principals:
            gcp.serviceaccount.IAMMember(
                f"{logical}-user-{naming.short_hash(principal)}",
                service_account_id=account,
                role=ACT_AS,
                member=principal,
                opts=self._child,
            )
