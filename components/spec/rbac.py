"""The spec's `rbac` section: personas (four built in, more declared with an access level) and the
principals that hold them, given for the stack's cloud or per cloud so one spec moves between clouds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final, Literal, get_args

from pydantic import AfterValidator, Field, model_validator

from mlfabric.components.catalog import Cloud
from mlfabric.components.spec.base import Persona, Problems, SpecModel, raise_if

AccessLevel = Literal["read", "deploy", "admin"]
# The grants a persona takes: a built-in persona's, or the read-only "reader" every cloud defines.
Template = Literal["data-scientist", "ml-engineer", "platform-admin", "ci-deployer", "reader"]
BUILT_IN_PERSONAS: Final[tuple[Persona, ...]] = get_args(Persona)
# A custom persona's access level -> the grants it takes.
ACCESS_TEMPLATES: Final[dict[AccessLevel, Template]] = {
    "read": "reader",
    "deploy": "ci-deployer",
    "admin": "platform-admin",
}

_PERSONA_NAME = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")


def _persona_name(value: str) -> str:
    # The name becomes part of role and service-account names (GCP's 30-character ids are the limit).
    if not _PERSONA_NAME.match(value) or "--" in value:
        raise ValueError("must be 3-24 lowercase letters, digits or single hyphens, starting with a letter")
    return value


PersonaName = Annotated[str, AfterValidator(_persona_name)]


class CustomPersonaSpec(SpecModel):
    """A persona besides the built-in four, defined by what it may do."""

    access: AccessLevel = Field(
        description="read: read data, models, images, logs and dashboards; deploy: what ci-deployer "
        "may do (push images, register models, update endpoints); admin: what platform-admin may do."
    )
    description: str = Field("", max_length=200, description="What the persona is for. Omitted: empty.")


class PrincipalsByCloud(SpecModel):
    """A persona's principals per cloud: only the stack's cloud's list is used."""

    aws: list[str] = Field(default_factory=list, description="IAM role or user ARNs.")
    gcp: list[str] = Field(default_factory=list, description="`user:`, `group:` or `serviceAccount:` members.")
    azure: list[str] = Field(default_factory=list, description="Entra object ids (GUIDs).")


@dataclass(frozen=True)
class PersonaGrant:
    """One persona on one cloud: its name, the grants it takes, the principals that hold it."""

    persona: str
    template: Template
    principals: list[str]
    # where the principals are in the spec (for error messages)
    path: tuple[str | int, ...]


class RbacSpec(SpecModel):
    """Who may do what: personas mapped to the cloud's principals."""

    personas: dict[PersonaName, list[str] | PrincipalsByCloud] = Field(
        default_factory=dict,
        description="Persona (" + ", ".join(BUILT_IN_PERSONAS) + ", or one of custom_personas) -> its "
        "principals: a list for the stack's cloud — IAM role/user ARNs (AWS), `user:`/`group:`/"
        "`serviceAccount:` members (GCP), Entra object ids (Azure) — or `aws:`/`gcp:`/`azure:` lists, "
        "of which the stack's cloud's is used. Omitted: no human access is granted by the platform.",
    )
    allow_guardrail_changes: bool = Field(
        False,
        description="Let platform-admin (and admin-level custom personas) change what the policy pack "
        "enforces on the platform's resources outside Pulumi (bucket policies, public access blocks, "
        "encryption, versioning, registry policies, cluster access). An escape hatch: `check` flags "
        "it. Omitted: denied.",
    )
    custom_personas: dict[PersonaName, CustomPersonaSpec] = Field(
        default_factory=dict,
        description="Personas besides the built-in ones, each with an access level (read, deploy, "
        "admin). Omitted: none.",
    )

    @model_validator(mode="after")
    def _known_personas(self) -> RbacSpec:
        problems: Problems = [
            (("custom_personas", name), f"is a built-in persona; choose another name (got {name!r})")
            for name in self.custom_personas if name in BUILT_IN_PERSONAS
        ]
        known = [*BUILT_IN_PERSONAS, *(n for n in self.custom_personas if n not in BUILT_IN_PERSONAS)]
        problems += [
            (("personas", name), f"not a persona: use one of {', '.join(known)} or declare it under "
             f"rbac.custom_personas (got {name!r})")
            for name in self.personas if name not in known
        ]
        raise_if(problems)
        return self

    def template(self, persona: str) -> Template:
        """The grants ``persona`` takes."""
        custom = self.custom_personas.get(persona)
        if custom is not None:
            return ACCESS_TEMPLATES[custom.access]
        for built_in in BUILT_IN_PERSONAS:  # a built-in persona is its own template
            if built_in == persona:
                return built_in
        raise KeyError(persona)

    def grants(self, cloud: Cloud) -> list[PersonaGrant]:
        """Every persona with its principals on ``cloud``, in spec order (empty lists kept)."""
        found: list[PersonaGrant] = []
        for persona, principals in self.personas.items():
            if isinstance(principals, PrincipalsByCloud):
                found.append(PersonaGrant(persona, self.template(persona), list(getattr(principals, cloud)),
                                          ("rbac", "personas", persona, cloud)))
            else:
                found.append(PersonaGrant(persona, self.template(persona), list(principals),
                                          ("rbac", "personas", persona)))
        return found
