"""Batch scoring on the training cluster, the same wherever the cloud has no managed batch service
mlfabric uses (a cloud's kit registers :class:`KubernetesBatch` as its batch concern).

Creates, per ``batch.jobs[]`` entry (children of the component, through a Kubernetes provider built
from the cluster's kubeconfig):

- a ``batch/v1`` CronJob ``<job>`` in the job's team namespace. Its Jobs carry the team's queue label,
  so Kueue admits them against the team's quota (all instances at once: ``parallelism`` =
  ``completions`` = ``instances``), and run as the team's ServiceAccount, whose cloud identity reads
  and writes only the team's prefix of the buckets. With a ``schedule`` the CronJob runs on it (UTC);
  without one it is suspended and runs on demand: ``kubectl create job --from=cronjob/<job>``.
  Each pod gets ``MODEL``, ``INPUT_URI`` (the datasets bucket's ``input_prefix``), ``OUTPUT_URI``
  (``<team prefix>batch/<job>/`` of the artifacts bucket) and its index (``JOB_COMPLETION_INDEX``).

The stack output ``batch_jobs`` says, per job, how to submit it and where results go.
"""

from __future__ import annotations

import functools
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from mlfabric.components.concerns import BatchOutputs, image_url
from mlfabric.components.context import PlatformContext
from mlfabric.components.kubernetes.device_plugin import MANAGED_BY, kubernetes_provider
from mlfabric.components.kubernetes.gpu_pool import GPU_RESOURCE
from mlfabric.components.kubernetes.queueing import TEAM_LABEL
from mlfabric.components.spec import BatchJobSpec, BatchSpec, TeamSpec

QUEUE_LABEL: Final = "kueue.x-k8s.io/queue-name"
# A schedule that never fires (30 February) for on-demand jobs: a CronJob needs one, and it stays suspended.
NEVER: Final = "0 0 30 2 *"


def output_prefix(team: TeamSpec, job: BatchJobSpec) -> str:
    """Where a job writes, inside the team's prefix (the only place its identity may write)."""
    return f"{team.prefix}batch/{job.name}/"


def submit_command(team: TeamSpec, job: BatchJobSpec) -> str:
    return f"kubectl create job --from=cronjob/{job.name} {job.name}-$(date +%s) -n {team.namespace}"


def _described(team: TeamSpec, job: BatchJobSpec, urls: dict[str, str]) -> dict[str, str]:
    """The stack output of one job: how to submit it, where its results go."""
    now = submit_command(team, job)
    return {
        "submit": now if job.schedule is None else f"runs on '{job.schedule}' (UTC); now: {now}",
        "output": f"{urls.get('artifacts', '')}/{output_prefix(team, job)}",
    }


class KubernetesBatch(BatchOutputs):
    """Batch-scoring CronJobs in team namespaces, admitted by the teams' Kueue queues."""

    type_token = "mlfabric:batch:KubernetesBatch"
    needs = ("cluster", "teams", "storage", "registry")

    def __init__(
        self,
        name: str,
        spec: BatchSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        if ctx.cluster is None or ctx.storage is None or ctx.spec is None:
            raise ValueError("KubernetesBatch needs the cluster and storage concerns built first")
        teams = {team.name: team for team in ctx.spec.teams}
        provider = kubernetes_provider(f"{name}-batch", ctx.cluster.kubeconfig, ctx.cluster.cluster_name, self)
        # The queues and namespaces exist once the teams component (its children) has been applied.
        after = [ctx.teams] if isinstance(ctx.teams, pulumi.Resource) else []
        child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=after)
        described: dict[str, pulumi.Output[dict[str, str]]] = {}
        for job in spec.jobs:
            # The spec refuses a job without a team where batch runs on the cluster (spec rules).
            team = teams[str(job.team)]
            self._cron_job(name, job, team, ctx, child)
            described[job.name] = ctx.storage.bucket_urls.apply(functools.partial(_described, team, job))
        self.batch_jobs = pulumi.Output.all(**described) if described else pulumi.Output.from_input({})
        self.register_contract()

    def _cron_job(self, name: str, job: BatchJobSpec, team: TeamSpec, ctx: PlatformContext,
                  opts: pulumi.ResourceOptions) -> k8s.batch.v1.CronJob:
        assert ctx.storage is not None
        labels = {**MANAGED_BY, TEAM_LABEL: team.name, "mlfabric.dev/batch-job": job.name}
        urls = ctx.storage.bucket_urls
        env = [
            k8s.core.v1.EnvVarArgs(name="MODEL", value=job.model),
            k8s.core.v1.EnvVarArgs(name="INPUT_URI", value=urls.apply(
                lambda u: f"{u.get('datasets', '')}/{job.input_prefix}")),
            k8s.core.v1.EnvVarArgs(name="OUTPUT_URI", value=urls.apply(
                lambda u: f"{u.get('artifacts', '')}/{output_prefix(team, job)}")),
        ]
        limits = {GPU_RESOURCE: "1"} if job.accelerator is not None else None
        container = k8s.core.v1.ContainerArgs(
            name="score",
            image=image_url(job.image, ctx.registry),
            env=env,
            resources=k8s.core.v1.ResourceRequirementsArgs(limits=limits, requests=limits),
            security_context=k8s.core.v1.SecurityContextArgs(
                allow_privilege_escalation=False, read_only_root_filesystem=True,
                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            ),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
        )
        pod = k8s.core.v1.PodSpecArgs(
            service_account_name=team.name,
            restart_policy="Never",
            security_context=k8s.core.v1.PodSecurityContextArgs(
                run_as_non_root=True, seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            containers=[container],
            # A writable scratch directory on a read-only root filesystem.
            volumes=[k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())],
        )
        return k8s.batch.v1.CronJob(
            f"{name}-{job.name}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=job.name, namespace=team.namespace, labels=labels),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=job.schedule or NEVER,
                time_zone="Etc/UTC",
                suspend=job.schedule is None,
                concurrency_policy="Forbid",
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={**labels, QUEUE_LABEL: team.name}),
                    spec=k8s.batch.v1.JobSpecArgs(
                        parallelism=job.instances,
                        completions=job.instances,
                        completion_mode="Indexed",
                        backoff_limit=1,
                        template=k8s.core.v1.PodTemplateSpecArgs(
                            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                            spec=pod,
                        ),
                    ),
                ),
            ),
            opts=opts,
        )
