"""What batch scoring on the training cluster needs from the spec, and what it honours (the capability
rows), for the clouds whose kit runs batch as CronJobs (``components/kubernetes/batch.py``). Imports no
SDK: validate runs it."""

from __future__ import annotations

from mlfabric.components.capabilities import Capability, Evidence
from mlfabric.components.kubernetes.gpu_pool import GPU_RESOURCE
from mlfabric.components.spec import PlatformSpec, Problems


def batch_problems(spec: PlatformSpec) -> Problems:
    """A job runs as its team (queue, identity), reads and writes under the team's prefix, and needs the
    datasets and artifacts buckets and the training cluster."""
    if spec.batch is None or not spec.batch.jobs:
        return []
    problems: Problems = []
    if spec.training is None:
        problems.append((("batch",), "batch jobs run on the training cluster: add a training section "
                         f"(got {len(spec.batch.jobs)} job(s) and no training)"))
    buckets = {bucket.name for bucket in spec.storage.buckets}
    missing = [name for name in ("datasets", "artifacts") if name not in buckets]
    if missing:
        problems.append((("batch",), f"batch jobs read the datasets bucket and write the artifacts bucket: "
                         f"add {' and '.join(missing)} to storage.buckets (got {', '.join(sorted(buckets))})"))
    teams = {team.name: team for team in spec.teams}
    for index, job in enumerate(spec.batch.jobs):
        where: tuple[str | int, ...] = ("batch", "jobs", index)
        if job.team is None:
            problems.append(((*where, "team"), "required: a job runs in its team's namespace, queue and identity "
                             f"(declared teams: {', '.join(teams) or 'none'})"))
            continue
        team = teams.get(job.team)
        if team is not None and not job.input_prefix.startswith(team.prefix):
            problems.append(((*where, "input_prefix"), f"must be under the team's prefix {team.prefix!r}: its "
                             f"identity reads nothing else (got {job.input_prefix!r})"))
        if team is not None and not team.gpu_quota:
            # A team's queue covers CPU and memory only on its pools' flavors: without a quota it admits nothing.
            problems.append(((*where, "team"), f"team {job.team!r} has no gpu_quota: its queue admits no job "
                             f"(got {job.team!r})"))
    return problems


CRON_JOB = "kubernetes:batch/v1:CronJob"


def batch_capabilities(stack: str, model: str) -> tuple[Capability, ...]:
    """The capability rows of ``batch.jobs[]`` where the cloud runs batch as CronJobs, with their evidence
    in the example ``stack`` (whose job ``nightly-scoring`` of team vision scores with ``model``)."""
    pod = "spec.jobTemplate.spec.template.spec.containers[0]"
    return (
        Capability("batch.jobs[].name", "honoured", "a Kubernetes CronJob of that name in the team's namespace "
                   "(suspended without a schedule: `kubectl create job --from=cronjob/<name>` runs it)",
                   Evidence(CRON_JOB, stack, prop="metadata.name", equals="nightly-scoring")),
        Capability("batch.jobs[].model", "honoured", "the MODEL environment variable of the scoring pods",
                   Evidence(CRON_JOB, stack, prop=f"{pod}.env[0].value", equals=model)),
        Capability("batch.jobs[].image", "honoured", "the scoring container's image, resolved against the "
                   "platform registry", Evidence(CRON_JOB, stack, prop=f"{pod}.image")),
        Capability("batch.jobs[].accelerator", "honoured", f"one {GPU_RESOURCE} per pod; Kueue places it on a "
                   "pool of the team's quota",
                   Evidence(CRON_JOB, stack, prop=f"{pod}.resources.limits", equals={GPU_RESOURCE: "1"})),
        Capability("batch.jobs[].instances", "honoured", "parallelism = completions of each Job (admitted all at "
                   "once)", Evidence(CRON_JOB, stack, prop="spec.jobTemplate.spec.parallelism", equals=2)),
        Capability("batch.jobs[].input_prefix", "honoured", "INPUT_URI of the pods: the datasets bucket's prefix "
                   "(under the team's prefix: the team identity reads nothing else)",
                   Evidence(CRON_JOB, stack, prop=f"{pod}.env[1].name", equals="INPUT_URI")),
        Capability("batch.jobs[].schedule", "honoured", "the CronJob's schedule (UTC); omitted: suspended, on "
                   "demand", Evidence(CRON_JOB, stack, prop="spec.schedule", equals="0 2 * * *")),
        Capability("batch.jobs[].team", "honoured", "the namespace, LocalQueue label and ServiceAccount the Jobs "
                   "run with", Evidence(CRON_JOB, stack, prop="metadata.namespace", equals="team-vision")),
    )
