"""Storage rules: customer-managed encryption, no public access, TLS only, versioning, no force-destroy.

pulumi-aws v7 declares a bucket's encryption, public-access block, versioning and policy as
separate resources, so the S3 rules are stack rules that join those resources back to their bucket
(by the engine's property dependency on ``bucket``, or by the bucket's name/ARN). GCS buckets carry
these settings inline; an Azure storage account carries encryption and TLS inline, while blob
versioning lives in its ``BlobServiceProperties``.
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
    falsy,
    flag_rule,
    fmt,
    get,
    is_set,
    items,
    json_document,
    mapping,
    must_be_set,
    must_be_true,
    must_not_be_false,
    must_not_be_true,
    number,
    of_types,
    refers_to,
    resource_policy,
    stack_policy,
    truthy,
)

S3_BUCKET = "aws:s3/bucket:Bucket"
S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
AZ_ACCOUNT = "azure-native:storage:StorageAccount"
AZ_CONTAINER = "azure-native:storage:BlobContainer"
AZ_BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
AZ_VAULT = "azure-native:keyvault:Vault"
AWS_KMS_KEY = "aws:kms/key:Key"
GCP_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
AZ_VAULT_KEY = "azure-native:keyvault:Key"

_PUBLIC_ACCESS_SWITCHES = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
_LOG_BUCKET_REASON = (
    "Buckets tagged mlfabric-bucket=access-logs are exempt from the KMS requirement because S3 server "
    "access logging cannot deliver to a bucket whose default encryption is SSE-KMS; they must still "
    "be encrypted (SSE-S3)."
)
EXEMPT_TAGS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "default": {"mlfabric-bucket": "access-logs"},
    "description": "Resources carrying all of these tags are access-log stores (see the rule description).",
}


def _exempt(resource: PolicyResource, config: Mapping[str, Any]) -> bool:
    wanted = mapping(config.get("exemptTags"))
    tags = mapping(resource.props.get("tags"))
    return bool(wanted) and all(tags.get(k) == v for k, v in wanted.items())


def _attached(settings: Sequence[PolicyResource], bucket: PolicyResource, prop: str = "bucket") -> list[PolicyResource]:
    return [s for s in settings if refers_to(s, prop, bucket)]


# --- S3 -----------------------------------------------------------------------------------------------

S3_KMS = RuleInfo(
    id="mlf-s3-kms-encryption",
    title="S3 buckets encrypted with a customer-managed KMS key",
    description="Every S3 bucket has a default-encryption configuration using aws:kms with a "
    "customer-managed key (kmsMasterKeyId), not SSE-S3 or the AWS-managed aws/s3 key. " + _LOG_BUCKET_REASON,
    remediation="Declare an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with "
    "sse_algorithm='aws:kms' and kms_master_key_id=<platform key ARN> (mlfabric's storage component does).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(S3_BUCKET, S3_SSE),
    section="storage",
    config={"exemptTags": EXEMPT_TAGS_SCHEMA},
    kind="stack",
)


def _sse_rules(config_resource: PolicyResource) -> list[Mapping[str, Any]]:
    return [mapping(r.get("applyServerSideEncryptionByDefault")) for r in items(config_resource.props.get("rules"))
            if isinstance(r, Mapping)]


@stack_policy(S3_KMS)
def s3_kms_encryption(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    configs = of_types(resources, S3_SSE)
    for bucket in of_types(resources, S3_BUCKET):
        defaults = [d for c in _attached(configs, bucket) for d in _sse_rules(c)]
        if _exempt(bucket, config):
            if not any(d.get("sseAlgorithm") for d in defaults):
                yield (f"access-log bucket {bucket.name} has no default encryption (expected SSE-S3, AES256)", bucket.urn)
            continue
        if not defaults:
            yield (f"bucket {bucket.name} has no BucketServerSideEncryptionConfiguration: objects would be "
                   "encrypted with S3-managed keys, not a customer-managed KMS key", bucket.urn)
            continue
        algorithms = {str(d.get("sseAlgorithm")) for d in defaults}
        if not algorithms & {"aws:kms", "aws:kms:dsse"}:
            yield (f"bucket {bucket.name} default encryption is {', '.join(sorted(algorithms))}, not aws:kms", bucket.urn)
        elif not any(is_set(d, "kmsMasterKeyId") for d in defaults):
            yield (f"bucket {bucket.name} uses aws:kms without kmsMasterKeyId, i.e. the AWS-managed aws/s3 key "
                   "(not customer-managed)", bucket.urn)


S3_PUBLIC = RuleInfo(
    id="mlf-s3-public-access-block",
    title="S3 public access fully blocked",
    description="Every S3 bucket has a BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, "
    "ignorePublicAcls and restrictPublicBuckets all true (or the account-wide block declares all four).",
    remediation="Declare aws.s3.BucketPublicAccessBlock(bucket=..., block_public_acls=True, "
    "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True).",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(S3_BUCKET, S3_PAB, S3_ACCOUNT_PAB),
    section="storage",
    kind="stack",
)


@stack_policy(S3_PUBLIC)
def s3_public_access_block(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    if any(all(truthy(a.props.get(k)) for k in _PUBLIC_ACCESS_SWITCHES) for a in of_types(resources, S3_ACCOUNT_PAB)):
        return
    blocks = of_types(resources, S3_PAB)
    for bucket in of_types(resources, S3_BUCKET):
        attached = _attached(blocks, bucket)
        if not attached:
            yield (f"bucket {bucket.name} has no BucketPublicAccessBlock", bucket.urn)
            continue
        off = [k for k in _PUBLIC_ACCESS_SWITCHES if not any(truthy(b.props.get(k)) for b in attached)]
        if off:
            yield (f"bucket {bucket.name} public access block leaves {', '.join(off)} off", bucket.urn)


S3_TLS = RuleInfo(
    id="mlf-s3-tls-only",
    title="S3 buckets deny non-TLS and old-TLS requests",
    description="Every S3 bucket has a bucket policy that denies requests with aws:SecureTransport=false "
    "and requests whose s3:TlsVersion is below the configured minimum (1.2).",
    remediation="Attach an aws.s3.BucketPolicy with Deny statements conditioned on "
    "{'Bool': {'aws:SecureTransport': 'false'}} and {'NumericLessThan': {'s3:TlsVersion': '1.2'}}.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(S3_BUCKET, S3_POLICY),
    section="storage",
    config={"minTlsVersion": {"type": "string", "default": "1.2", "description": "Lowest TLS version allowed."}},
    kind="stack",
)


def _conditions(statement: Mapping[str, Any], operators: tuple[str, ...], key: str) -> list[Any]:
    found: list[Any] = []
    for operator, block in mapping(statement.get("Condition")).items():
        if operator in operators:
            for k, v in mapping(block).items():
                if k.lower() == key.lower():
                    found.extend(items(v))
    return found


def tls_findings(document: Mapping[str, Any] | None, min_tls: float) -> list[str]:
    """What a bucket policy document lacks for TLS-only access (empty when compliant)."""
    if document is None:
        return ["the bucket policy is not a readable JSON policy document"]
    denies = [s for s in items(document.get("Statement")) if isinstance(s, Mapping) and s.get("Effect") == "Deny"]
    missing: list[str] = []
    if not any(falsy(v) for s in denies for v in _conditions(s, ("Bool", "BoolIfExists"), "aws:SecureTransport")):
        missing.append("no Deny statement for aws:SecureTransport=false")
    versions = [number(v) for s in denies for v in _conditions(s, ("NumericLessThan",), "s3:TlsVersion")]
    if not any(v is not None and v >= min_tls for v in versions):
        missing.append(f"no Deny statement for s3:TlsVersion < {min_tls:g}")
    return missing


@stack_policy(S3_TLS)
def s3_tls_only(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    min_tls = number(config.get("minTlsVersion")) or 1.2
    policies = of_types(resources, S3_POLICY)
    for bucket in of_types(resources, S3_BUCKET):
        attached = _attached(policies, bucket)
        if not attached:
            yield (f"bucket {bucket.name} has no bucket policy denying non-TLS requests", bucket.urn)
            continue
        findings = [tls_findings(json_document(p.props.get("policy")), min_tls) for p in attached]
        if all(findings):
            yield (f"bucket {bucket.name} policy: {'; '.join(findings[0])}", bucket.urn)


S3_VERSIONING_RULE = RuleInfo(
    id="mlf-s3-versioning",
    title="S3 versioning on (outside dev)",
    description="Every S3 bucket has a BucketVersioning with status Enabled, so overwritten or deleted "
    "objects can be recovered. Disabled in the dev policy config.",
    remediation="Set storage.versioning: true in the spec (the default in staging and prod).",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(S3_BUCKET, S3_VERSIONING),
    section="storage",
    kind="stack",
)


@stack_policy(S3_VERSIONING_RULE)
def s3_versioning(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    versionings = of_types(resources, S3_VERSIONING)
    for bucket in of_types(resources, S3_BUCKET):
        statuses = [get(v.props, "versioningConfiguration.status") for v in _attached(versionings, bucket)]
        if not statuses:
            yield (f"bucket {bucket.name} has no BucketVersioning (versioning is off)", bucket.urn)
        elif "Enabled" not in statuses:
            yield (f"bucket {bucket.name} versioning status is {fmt(statuses[0])}, not Enabled", bucket.urn)


NO_FORCE_DESTROY = RuleInfo(
    id="mlf-bucket-no-force-destroy",
    title="No force-destroy on buckets (outside dev)",
    description="S3 and GCS buckets do not set forceDestroy, so `pulumi destroy` cannot delete a bucket "
    "that still holds data. Disabled in the dev policy config.",
    remediation="Leave storage.force_destroy unset (only dev may set it).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp"),
    resource_types=(S3_BUCKET, GCS_BUCKET),
    section="storage",
)


bucket_no_force_destroy = flag_rule(NO_FORCE_DESTROY, must_not_be_true(
    "forceDestroy", "forceDestroy is true: destroying the stack would delete the bucket with its objects"))


KEY_ROTATION = RuleInfo(
    id="mlf-kms-key-rotation",
    title="Customer-managed keys rotate",
    description="AWS KMS keys have rotation enabled, Cloud KMS crypto keys a rotationPeriod, and Key "
    "Vault keys a rotation policy with a Rotate action, each at most maxRotationDays apart. Key Vault "
    "keys named in exemptKeyNames (by default aks-etcd-kms, the AKS KMS etcd-encryption key, and "
    "lustre-cmk, the Azure Managed Lustre key, both of mlfabric's cluster) are exempt: AKS KMS and Managed "
    "Lustre pin a versioned key identifier, so a version a rotation policy creates is not used until the "
    "service is updated with the new key id, while the old version must stay enabled; rotating those "
    "keys is a cluster operation, not a key policy.",
    remediation="Set storage.key_rotation_days in the spec (default 365); mlfabric's storage components "
    "configure rotation from it.",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(AWS_KMS_KEY, GCP_CRYPTO_KEY, AZ_VAULT_KEY),
    section="storage",
    config={"maxRotationDays": {"type": "number", "default": 365, "minimum": 90,
                                "description": "Longest allowed interval between key rotations, in days."},
            "exemptKeyNames": {"type": "array", "items": {"type": "string"},
                               "default": ["aks-etcd-kms", "lustre-cmk"],
                               "description": "Key Vault key names (keyName) not checked: keys whose rotation "
                               "another service drives (the AKS KMS key, the Managed Lustre key)."}},
)


def _iso_days(duration: Any) -> float | None:
    """Days in an ISO-8601 duration such as P90D, P1Y or P3M (Key Vault's rotation triggers)."""
    text = str(duration or "").upper()
    if not text.startswith("P"):
        return None
    total, digits = 0.0, ""
    units = {"Y": 365.0, "M": 30.0, "W": 7.0, "D": 1.0}
    for char in text[1:]:
        if char.isdigit() or char == ".":
            digits += char
        elif char in units and digits:
            total += float(digits) * units[char]
            digits = ""
        elif char == "T":
            break
        else:
            return None
    return total or None


@resource_policy(KEY_ROTATION)
def kms_key_rotation(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    max_days = number(config.get("maxRotationDays")) or 365
    if resource_type == AWS_KMS_KEY:
        if not truthy(props.get("enableKeyRotation")):
            yield "enableKeyRotation is not true"
            return
        period = number(props.get("rotationPeriodInDays"))
        if period is not None and period > max_days:
            yield f"rotationPeriodInDays is {period:g}, more than {max_days:g}"
    elif resource_type == GCP_CRYPTO_KEY:
        period_text = str(props.get("rotationPeriod") or "")
        seconds = number(period_text.rstrip("s")) if period_text else None
        if seconds is None:
            yield "rotationPeriod is not set: the key never rotates"
        elif seconds / 86400 > max_days:
            yield f"rotationPeriod is {seconds / 86400:g} days, more than {max_days:g}"
    else:
        if str(props.get("keyName") or "") in {str(k) for k in items(config.get("exemptKeyNames"))}:
            return
        actions = items(get(props, "properties.rotationPolicy.lifetimeActions"))
        rotate = [a for a in actions if isinstance(a, Mapping) and str(get(a, "action.type", "")).lower() == "rotate"]
        if not rotate:
            yield "properties.rotationPolicy has no Rotate lifetime action: the key never rotates"
            return
        days = [_iso_days(get(a, "trigger.timeAfterCreate")) for a in rotate]
        if all(d is not None and d > max_days for d in days):
            yield f"the key rotates every {min(d for d in days if d is not None):g} days, more than {max_days:g}"


# --- GCS ------------------------------------------------------------------------------------------------

GCS_CMEK = RuleInfo(
    id="mlf-gcs-cmek-encryption",
    title="GCS buckets encrypted with a customer-managed key",
    description="Every GCS bucket names a Cloud KMS key in encryption.defaultKmsKeyName.",
    remediation="Set encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=<crypto key id>) and "
    "grant the Cloud Storage service agent roles/cloudkms.cryptoKeyEncrypterDecrypter on the key.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(GCS_BUCKET,),
    section="storage",
)


gcs_cmek = flag_rule(GCS_CMEK, must_be_set(
    "encryption.defaultKmsKeyName", "encryption.defaultKmsKeyName is not set: objects use Google-managed keys"))


GCS_PUBLIC = RuleInfo(
    id="mlf-gcs-public-access-prevention",
    title="GCS public access prevention enforced",
    description="Every GCS bucket sets publicAccessPrevention to 'enforced', so no IAM grant or ACL can "
    "make its objects public.",
    remediation="Set public_access_prevention='enforced' on the bucket.",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(GCS_BUCKET,),
    section="storage",
)


@resource_policy(GCS_PUBLIC)
def gcs_public_access_prevention(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    value = props.get("publicAccessPrevention")
    if value != "enforced":
        yield (f"publicAccessPrevention is {fmt(value)}, not 'enforced'" if value is not None
               else "publicAccessPrevention is not set (inherits the project/organisation setting)")


GCS_UNIFORM = RuleInfo(
    id="mlf-gcs-uniform-access",
    title="GCS uniform bucket-level access",
    description="Every GCS bucket has uniformBucketLevelAccess true: access is IAM only, object ACLs "
    "are off.",
    remediation="Set uniform_bucket_level_access=True on the bucket.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(GCS_BUCKET,),
    section="storage",
)


gcs_uniform_access = flag_rule(GCS_UNIFORM, must_be_true(
    "uniformBucketLevelAccess", "uniformBucketLevelAccess is not true: object ACLs can grant access outside IAM"))


GCS_VERSIONING = RuleInfo(
    id="mlf-gcs-versioning",
    title="GCS versioning on (outside dev)",
    description="Every GCS bucket has versioning.enabled true. Disabled in the dev policy config.",
    remediation="Set storage.versioning: true in the spec (the default in staging and prod).",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(GCS_BUCKET,),
    section="storage",
)


gcs_versioning = flag_rule(GCS_VERSIONING, must_be_true("versioning.enabled", "versioning.enabled is not true"))


# --- Azure storage --------------------------------------------------------------------------------------

AZ_CMK = RuleInfo(
    id="mlf-azure-storage-cmk",
    title="Azure storage accounts encrypted with a Key Vault key",
    description="Every storage account sets encryption.keySource to Microsoft.Keyvault and names the key "
    "(keyVaultProperties.keyName and keyVaultUri).",
    remediation="Set encryption=storage.EncryptionArgs(key_source='Microsoft.Keyvault', "
    "key_vault_properties=...) with an identity allowed to wrap/unwrap with the key.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AZ_ACCOUNT,),
    section="storage",
)


@resource_policy(AZ_CMK)
def azure_storage_cmk(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    source = get(props, "encryption.keySource")
    if str(source or "").lower() != "microsoft.keyvault":
        yield f"encryption.keySource is {fmt(source) if source else 'not set'}: Microsoft-managed keys, not a customer key"
    elif not (is_set(props, "encryption.keyVaultProperties.keyName")
              and is_set(props, "encryption.keyVaultProperties.keyVaultUri")):
        yield "encryption.keyVaultProperties does not name the key (keyName and keyVaultUri)"


AZ_PUBLIC = RuleInfo(
    id="mlf-azure-storage-no-public-blob",
    title="Azure blob public access off",
    description="Every storage account sets allowBlobPublicAccess false, and no blob container sets a "
    "publicAccess level other than None.",
    remediation="Set allow_blob_public_access=False on the account and public_access='None' on containers.",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AZ_ACCOUNT, AZ_CONTAINER),
    section="storage",
)


@resource_policy(AZ_PUBLIC)
def azure_no_public_blob(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    if resource_type.endswith(":BlobContainer"):
        level = props.get("publicAccess")
        if level is not None and str(level) != "None":
            yield f"publicAccess is {fmt(level)}: anonymous reads of the container"
    elif not falsy(props.get("allowBlobPublicAccess")):
        yield ("allowBlobPublicAccess is not false" if props.get("allowBlobPublicAccess") is not None
               else "allowBlobPublicAccess is not set: containers could be made public later")


AZ_TLS = RuleInfo(
    id="mlf-azure-storage-tls",
    title="Azure storage HTTPS only, TLS 1.2+",
    description="Every storage account keeps enableHttpsTrafficOnly on and sets minimumTlsVersion to "
    "TLS1_2 or newer.",
    remediation="Set enable_https_traffic_only=True and minimum_tls_version='TLS1_2'.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AZ_ACCOUNT,),
    section="storage",
)


@resource_policy(AZ_TLS)
def azure_storage_tls(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    if falsy(props.get("enableHttpsTrafficOnly")):
        yield "enableHttpsTrafficOnly is false: plain HTTP is accepted"
    version = str(props.get("minimumTlsVersion") or "")
    if version not in ("TLS1_2", "TLS1_3"):
        yield (f"minimumTlsVersion is {fmt(version)}" if version else "minimumTlsVersion is not set") + ", not TLS1_2 or newer"


AZ_VERSIONING = RuleInfo(
    id="mlf-azure-blob-versioning",
    title="Azure blob versioning on (outside dev)",
    description="Every storage account has BlobServiceProperties with isVersioningEnabled true. Accounts "
    "tagged mlfabric-bucket=access-logs (the access-log archive) are exempt. Disabled in the dev "
    "policy config.",
    remediation="Set storage.versioning: true in the spec (the default in staging and prod).",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AZ_ACCOUNT, AZ_BLOB_SERVICE),
    section="storage",
    config={"exemptTags": EXEMPT_TAGS_SCHEMA},
    kind="stack",
)


@stack_policy(AZ_VERSIONING)
def azure_blob_versioning(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    services = of_types(resources, AZ_BLOB_SERVICE)
    for account in of_types(resources, AZ_ACCOUNT):
        if _exempt(account, config):
            continue
        attached = _attached(services, account, "accountName")
        if not attached:
            yield (f"storage account {account.name} has no BlobServiceProperties (versioning off)", account.urn)
        elif not any(truthy(s.props.get("isVersioningEnabled")) for s in attached):
            yield (f"storage account {account.name} blob service has isVersioningEnabled off", account.urn)


AZ_PURGE = RuleInfo(
    id="mlf-azure-keyvault-purge-protection",
    title="Key Vaults keep soft delete and purge protection",
    description="Every Key Vault enables soft delete and purge protection, so a deleted key (and the "
    "data encrypted with it) can be recovered; Azure requires both for storage CMK.",
    remediation="Set properties.enable_soft_delete=True and properties.enable_purge_protection=True.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AZ_VAULT,),
    section="storage",
)


azure_keyvault_purge_protection = flag_rule(
    AZ_PURGE,
    must_be_true("properties.enablePurgeProtection", "properties.enablePurgeProtection is not true"),
    must_not_be_false("properties.enableSoftDelete", "properties.enableSoftDelete is false"),
)


POLICIES: list[MlfPolicy] = [
    s3_kms_encryption, s3_public_access_block, s3_tls_only, s3_versioning, bucket_no_force_destroy,
    kms_key_rotation, gcs_cmek, gcs_public_access_prevention, gcs_uniform_access, gcs_versioning,
    azure_storage_cmk, azure_no_public_blob, azure_storage_tls, azure_blob_versioning,
    azure_keyvault_purge_protection,
]
