"""Registry rules: images scanned on push, immutable tags outside dev, encrypted with a customer key,
and Azure Container Registry's admin user and anonymous pull off.

ACR has no per-registry "scan on push" switch: image scanning is Microsoft Defender for Containers,
a subscription-level plan (``security:Pricing`` named Containers, tier Standard), and there is no
ARM setting for tag immutability (tag locking is a data-plane operation), so those are covered by
an advisory stack rule and documented as out of reach respectively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from .base import (
    ADVISORY,
    CRITICAL,
    HIGH,
    MANDATORY,
    MEDIUM,
    MlfPolicy,
    RuleInfo,
    flag_rule,
    fmt,
    get,
    is_set,
    items,
    must_not_be_true,
    of_types,
    resource_policy,
    stack_policy,
    truthy,
)

ECR = "aws:ecr/repository:Repository"
ECR_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
AR = "gcp:artifactregistry/repository:Repository"
ACR = "azure-native:containerregistry:Registry"
DEFENDER_PRICING = "azure-native:security:Pricing"


SCAN_ON_PUSH = RuleInfo(
    id="mlf-registry-scan-on-push",
    title="Images scanned on push",
    description="ECR repositories set imageScanningConfiguration.scanOnPush true (or the registry-wide "
    "scanning configuration scans on push); Artifact Registry repositories do not disable "
    "vulnerability scanning (vulnerabilityScanningConfig.enablementConfig DISABLED).",
    remediation="Keep registry.scan_on_push on (the default).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp"),
    resource_types=(ECR, AR, ECR_SCANNING),
    section="registry",
    kind="stack",
)


def _registry_scans_on_push(scanning: Sequence[PolicyResource]) -> bool:
    for config in scanning:
        for rule in items(config.props.get("rules")):
            if isinstance(rule, Mapping) and str(rule.get("scanFrequency")) in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"):
                return True
    return False


@stack_policy(SCAN_ON_PUSH)
def registry_scan_on_push(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    registry_wide = _registry_scans_on_push(of_types(resources, ECR_SCANNING))
    for repo in of_types(resources, ECR):
        if not registry_wide and not truthy(get(repo.props, "imageScanningConfiguration.scanOnPush")):
            yield (f"ECR repository {repo.name} does not scan images on push", repo.urn)
    for repo in of_types(resources, AR):
        if str(get(repo.props, "vulnerabilityScanningConfig.enablementConfig", "")).upper() == "DISABLED":
            yield (f"Artifact Registry repository {repo.name} disables vulnerability scanning", repo.urn)


IMMUTABLE = RuleInfo(
    id="mlf-registry-immutable-tags",
    title="Immutable image tags (outside dev)",
    description="ECR repositories set imageTagMutability IMMUTABLE (or IMMUTABLE_WITH_EXCLUSION); Docker "
    "Artifact Registry repositories set dockerConfig.immutableTags true, so a deployed tag always "
    "means the same image. Disabled in the dev policy config.",
    remediation="Set registry.immutable_tags: true in the spec (the default in staging and prod).",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("aws", "gcp"),
    resource_types=(ECR, AR),
    section="registry",
)


@resource_policy(IMMUTABLE)
def registry_immutable_tags(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    if resource_type == ECR:
        mutability = props.get("imageTagMutability")
        if not str(mutability or "").startswith("IMMUTABLE"):
            yield f"imageTagMutability is {fmt(mutability) if mutability else 'not set (MUTABLE)'}"
    elif str(props.get("format") or "").upper() == "DOCKER" and not truthy(get(props, "dockerConfig.immutableTags")):
        yield "dockerConfig.immutableTags is not true"


REGISTRY_CMK = RuleInfo(
    id="mlf-registry-cmk-encryption",
    title="Registries encrypted with a customer key",
    description="ECR repositories use encryptionType KMS with a key; Artifact Registry repositories name "
    "kmsKeyName; ACR sets encryption.status enabled with a Key Vault key.",
    remediation="Give the repository the platform's KMS/Cloud KMS/Key Vault key (ACR needs the Premium SKU).",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(ECR, AR, ACR),
    section="registry",
)


@resource_policy(REGISTRY_CMK)
def registry_cmk(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    if resource_type == ECR:
        configs = [c for c in items(props.get("encryptionConfigurations")) if isinstance(c, Mapping)]
        if not any(str(c.get("encryptionType")) == "KMS" and is_set(c, "kmsKey") for c in configs):
            yield "encryptionConfigurations has no KMS entry with a kmsKey (AES256 with AWS-owned keys)"
    elif resource_type == AR:
        if not is_set(props, "kmsKeyName"):
            yield "kmsKeyName is not set: Google-managed keys"
    elif str(get(props, "encryption.status", "")).lower() != "enabled" or not is_set(
        props, "encryption.keyVaultProperties.keyIdentifier"
    ):
        yield "encryption.status is not enabled with a keyVaultProperties.keyIdentifier"


ACR_ADMIN = RuleInfo(
    id="mlf-acr-admin-user-off",
    title="ACR admin user off",
    description="Azure Container Registries keep adminUserEnabled false: pushes and pulls use Entra ID "
    "identities, not the shared admin password.",
    remediation="Set admin_user_enabled=False and grant AcrPush/AcrPull roles instead.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(ACR,),
    section="registry",
)


acr_admin_user_off = flag_rule(ACR_ADMIN, must_not_be_true(
    "adminUserEnabled", "adminUserEnabled is true: a shared admin password can push and pull"))


ACR_ANONYMOUS = RuleInfo(
    id="mlf-acr-anonymous-pull-off",
    title="ACR anonymous pull off",
    description="Azure Container Registries keep anonymousPullEnabled false, so images are not readable "
    "by anyone on the internet.",
    remediation="Set anonymous_pull_enabled=False.",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(ACR,),
    section="registry",
)


acr_anonymous_pull_off = flag_rule(ACR_ANONYMOUS, must_not_be_true(
    "anonymousPullEnabled", "anonymousPullEnabled is true: anyone can pull images"))


ACR_DEFENDER = RuleInfo(
    id="mlf-acr-defender-scanning",
    title="ACR images scanned by Defender for Containers",
    description="A stack with an Azure Container Registry also enables Microsoft Defender for "
    "Containers (security Pricing 'Containers', tier Standard), Azure's scan-on-push. Advisory: the "
    "plan is subscription-wide, so it is often enabled outside the platform stack.",
    remediation="Enable Defender for Containers on the subscription (or declare "
    "azure_native.security.Pricing('Containers', pricing_tier='Standard')).",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("azure",),
    resource_types=(ACR, DEFENDER_PRICING),
    section="registry",
    kind="stack",
)


@stack_policy(ACR_DEFENDER)
def acr_defender_scanning(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    registries = of_types(resources, ACR)
    if not registries:
        return
    enabled = any(
        str(p.props.get("pricingName") or p.name).lower() == "containers"
        and str(p.props.get("pricingTier") or "").lower() == "standard"
        for p in of_types(resources, DEFENDER_PRICING)
    )
    if not enabled:
        for registry in registries:
            yield (f"registry {registry.name}: no Defender for Containers plan (Pricing 'Containers', Standard) "
                   "in the stack scans its images", registry.urn)


POLICIES: list[MlfPolicy] = [
    registry_scan_on_push, registry_immutable_tags, registry_cmk, acr_admin_user_off, acr_anonymous_pull_off,
    acr_defender_scanning,
]
