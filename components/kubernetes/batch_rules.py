"""What batch scoring on the training cluster needs from the spec (checked by the clouds whose kit
runs batch as CronJobs, ``components/kubernetes/batch.py``). Imports no SDK: validate runs it."""

from __future__ import annotations

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
