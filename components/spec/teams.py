"""The spec's `teams` section: the ML teams that share the training cluster.

Each team gets a namespace, a queue with a GPU quota (borrowing idle GPUs of the other teams and
giving them back when their owners need them), a workload identity that reads and writes only its
own prefix of the platform's buckets, Kubernetes access for its members and cost-allocation tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import AfterValidator, Field, model_validator

from mlfabric.components.catalog import Cloud
from mlfabric.components.spec.base import PoolName, Problems, SpecModel, raise_if
from mlfabric.components.spec.rbac import PersonaName, PrincipalsByCloud

_TEAM_NAME = re.compile(r"^[a-z][a-z0-9]{1,14}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,120}/$")
# Namespaces are ``team-<name>``: never a system namespace (kube-system, kueue-system, default).
NAMESPACE_PREFIX: Final = "team-"


def _team_name(value: str) -> str:
    # Part of namespace, queue, role and service-account names on every cloud (GCP service-account
    # ids are at most 30 characters: "<platform>-<env>-<team>" must fit).
    if not _TEAM_NAME.match(value):
        raise ValueError("must be 2-15 lowercase letters or digits, starting with a letter")
    return value


def _prefix(value: str) -> str:
    if not _PREFIX.match(value) or "//" in value or ".." in value:
        raise ValueError("must be a relative object prefix ending in '/', e.g. 'teams/vision/' "
                         "(lowercase letters, digits, '.', '_', '-', '/')")
    return value


TeamName = Annotated[str, AfterValidator(_team_name)]
StoragePrefix = Annotated[str, AfterValidator(_prefix)]


class GpuQuotaSpec(SpecModel):
    """A team's share of one GPU pool."""

    pool: PoolName = Field(description="A pool of training.gpu_pools.")
    gpus: int = Field(ge=0, le=16000, description="GPUs the team is guaranteed (its nominal quota).")
    borrow_gpus: int | None = Field(
        None, ge=0, le=16000,
        description="GPUs it may borrow on top while other teams leave theirs idle (given back when "
        "they need them). Omitted: as many as are idle in the pool; 0: never borrows.",
    )


class TeamSpec(SpecModel):
    """One ML team sharing the training cluster."""

    name: TeamName = Field(description="Team name (2-15 lowercase letters/digits); namespace team-<name>.")
    members: dict[PersonaName, list[str] | PrincipalsByCloud] = Field(
        default_factory=dict,
        description="Persona (a built-in persona, one of rbac.custom_personas, or reader) -> the "
        "principals that act in the team's namespace with that persona's access level (reader: view; "
        "data-scientist, ml-engineer, ci-deployer: edit; platform-admin: admin). Principals as in "
        "rbac.personas. Omitted: nobody but the platform admins.",
    )
    gpu_quota: list[GpuQuotaSpec] = Field(
        default_factory=list,
        description="The team's GPU quota per pool. Every job in the team's namespace is queued; a "
        "pool the team has no quota in admits none of its jobs. Omitted: none (the team's queue "
        "admits nothing until it is given a quota).",
    )
    storage_prefix: StoragePrefix | None = Field(
        None,
        description="The prefix of the platform buckets the team's identity may read and write. "
        "Omitted: teams/<name>/.",
    )

    @model_validator(mode="after")
    def _pools_unique(self) -> TeamSpec:
        seen: set[str] = set()
        problems: Problems = []
        for index, quota in enumerate(self.gpu_quota):
            if quota.pool in seen:
                problems.append((("gpu_quota", index, "pool"), f"a second quota for the same pool (got {quota.pool!r})"))
            seen.add(quota.pool)
        raise_if(problems)
        return self

    @property
    def namespace(self) -> str:
        return f"{NAMESPACE_PREFIX}{self.name}"

    @property
    def prefix(self) -> str:
        """The team's object prefix in the platform buckets."""
        return self.storage_prefix or f"teams/{self.name}/"


@dataclass(frozen=True)
class TeamMember:
    """The principals of one persona in one team, on one cloud."""

    team: str
    persona: str
    principals: list[str]
    # where the principals are in the spec (for error messages)
    path: tuple[str | int, ...]


def team_members(teams: list[TeamSpec], cloud: Cloud) -> list[TeamMember]:
    """Every team's members on ``cloud``, in spec order."""
    found: list[TeamMember] = []
    for index, team in enumerate(teams):
        for persona, principals in team.members.items():
            where: tuple[str | int, ...] = ("teams", index, "members", persona)
            if isinstance(principals, PrincipalsByCloud):
                found.append(TeamMember(team.name, persona, list(getattr(principals, cloud)), (*where, cloud)))
            else:
                found.append(TeamMember(team.name, persona, list(principals), where))
    return found
