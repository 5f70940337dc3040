"""Settings that exist on one cloud only: the spec's `aws:`, `gcp:` and `azure:` blocks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlfabric.components.spec.base import SpecModel

# --- cloud-only knobs ------------------------------------------------------------------------


class AwsOptions(SpecModel):
    """Settings that exist only on AWS."""

    account_id: str | None = Field(
        None,
        pattern=r"^\d{12}$",
        description="When set, the AWS provider refuses to deploy into any other account "
        "(allowed_account_ids). Omitted: whatever account the credentials belong to.",
    )


class GcpOptions(SpecModel):
    """Settings that exist only on GCP."""

    project: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        description="Project that holds the platform. Omitted: the stack's `gcp:project` config.",
    )
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field(
        "REGULAR", description="GKE release channel. Omitted: REGULAR."
    )
    binary_authorization: Literal["enforce", "audit", "off"] | None = Field(
        None,
        description="Binary Authorization on the GKE cluster: `enforce` admits only images from the "
        "platform's Artifact Registry repositories (and Google-maintained GKE system images) and blocks "
        "the rest; `audit` admits everything and logs what `enforce` would block; `off` evaluates "
        "nothing. Omitted: enforce in staging and prod, audit in dev (a laptop's ad-hoc images run, "
        "and are logged).",
    )


class AzureOptions(SpecModel):
    """Settings that exist only on Azure."""

    subscription_id: str | None = Field(
        None,
        pattern=r"^[0-9a-fA-F-]{36}$",
        description="Subscription that holds the platform. Omitted: the logged-in subscription.",
    )

