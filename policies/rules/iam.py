"""IAM and RBAC rules: no ``*`` action on ``*`` resource, no trust open to ``*``, no primitive GCP
roles or public GCP members, no Owner/Contributor assignments on Azure.

AWS policy documents arrive as JSON strings (``Output.json_dumps``) or already as objects; both are
read. A statement's Action/Resource/Principal may be a string or a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .base import (
    CRITICAL,
    MANDATORY,
    ByType,
    MlfPolicy,
    RuleInfo,
    get,
    items,
    json_document,
    mapping,
    resource_policy,
)

AWS_POLICY_DOCUMENT_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
AWS_ROLE = "aws:iam/role:Role"
AWS_ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
AZ_ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
AZ_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
GCP_IAM_MEMBER = r"re:^gcp:[A-Za-z0-9]+/[A-Za-z0-9]*(?i:iam)(Member|Binding):[A-Za-z0-9]+$"
GCP_IAM_POLICY = r"re:^gcp:[A-Za-z0-9]+/[A-Za-z0-9]*(?i:iam)Policy:[A-Za-z0-9]+$"
_GCP_IAM_MEMBER = re.compile(GCP_IAM_MEMBER[3:])
_ADMIN_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if document is None:
        return []
    return [s for s in items(document.get("Statement")) if isinstance(s, Mapping)]


def admin_statements(document: Mapping[str, Any] | None) -> list[str]:
    """Sids (or indexes) of Allow statements that grant every action on every resource."""
    found = []
    for index, statement in enumerate(_statements(document)):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        resources = {str(r) for r in items(statement.get("Resource"))}
        if "*" not in resources:
            continue
        actions = {str(a) for a in items(statement.get("Action"))}
        if actions & {"*", "*:*"} or ("NotAction" in statement and "Action" not in statement):
            found.append(str(statement.get("Sid") or f"#{index}"))
    return found


NO_WILDCARD = RuleInfo(
    id="mlf-iam-no-wildcard-admin",
    title="No * action on * resource",
    description="No IAM policy (managed, inline or a role's inline policies) allows Action '*' (or "
    "NotAction) on Resource '*', no principal gets the AdministratorAccess managed policy, and no "
    "Azure custom role definition allows actions '*'.",
    remediation="Grant the specific actions on the specific resources the workload needs (mlfabric's "
    "personas are scoped this way).",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("aws", "azure"),
    resource_types=(*AWS_POLICY_DOCUMENT_TYPES, AWS_ROLE, *AWS_ATTACHMENT_TYPES, AZ_ROLE_DEFINITION),
    section="rbac",
)


def _document_admin(props: Mapping[str, Any]) -> Iterable[str]:
    for sid in admin_statements(json_document(props.get("policy"))):
        yield f"statement {sid} allows every action on every resource"


def _role_admin(props: Mapping[str, Any]) -> Iterable[str]:
    for inline in items(props.get("inlinePolicies")):
        for sid in admin_statements(json_document(mapping(inline).get("policy"))):
            yield f"inline policy {mapping(inline).get('name', '')} statement {sid} allows every action on every resource"
    for arn in items(props.get("managedPolicyArns")):
        if _ADMIN_POLICY.match(str(arn)):
            yield "managedPolicyArns attaches AdministratorAccess"


def _attachment_admin(props: Mapping[str, Any]) -> Iterable[str]:
    if _ADMIN_POLICY.match(str(props.get("policyArn") or "")):
        yield "attaches the AdministratorAccess managed policy"


def _role_definition_admin(props: Mapping[str, Any]) -> Iterable[str]:
    for permission in items(get(props, "permissions")):
        if "*" in [str(a) for a in items(mapping(permission).get("actions"))]:
            yield "the role definition allows actions '*' (Owner-equivalent)"


_WILDCARD_ADMIN = ByType({
    **dict.fromkeys(AWS_POLICY_DOCUMENT_TYPES, _document_admin),
    AWS_ROLE: _role_admin,
    **dict.fromkeys(AWS_ATTACHMENT_TYPES, _attachment_admin),
    AZ_ROLE_DEFINITION: _role_definition_admin,
})


@resource_policy(NO_WILDCARD)
def iam_no_wildcard_admin(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    yield from _WILDCARD_ADMIN.check(resource_type, props)


_RESTRICTING_KEYS_DEFAULT = ["aws:PrincipalOrgID", "aws:PrincipalAccount", "aws:SourceAccount", "aws:SourceArn",
                             "aws:PrincipalArn", "sts:ExternalId"]

OPEN_TRUST = RuleInfo(
    id="mlf-iam-no-open-trust",
    title="No role trust open to *",
    description="No IAM role's trust policy lets any principal ('*' or {'AWS': '*'}) assume it unless a "
    "condition pins the account, organisation or caller; web-identity (OIDC) trusts must pin the "
    "token subject (':sub'), or any service account / repository could assume the role.",
    remediation="Name the trusted account, service or OIDC provider and add a StringEquals condition on "
    "<issuer>:sub (mlfabric's IRSA roles pin system:serviceaccount:<ns>:<sa>).",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(AWS_ROLE,),
    section="rbac",
    config={"restrictingConditionKeys": {
        "type": "array", "items": {"type": "string"}, "default": _RESTRICTING_KEYS_DEFAULT,
        "description": "Condition keys that make a '*' principal acceptable."}},
)


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    return {key.lower() for block in mapping(statement.get("Condition")).values() for key in mapping(block)}


def trust_findings(document: Mapping[str, Any] | None, restricting: list[str]) -> list[str]:
    """Why a trust policy is open (empty when it is not)."""
    findings = []
    wanted = {k.lower() for k in restricting}
    for index, statement in enumerate(_statements(document)):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        sid = str(statement.get("Sid") or f"#{index}")
        principal = statement.get("Principal")
        everyone = principal == "*" or "*" in [str(p) for p in items(mapping(principal).get("AWS"))]
        if everyone and not (_condition_keys(statement) & wanted):
            findings.append(f"statement {sid} lets any AWS principal assume the role")
        federated = [str(p) for p in items(mapping(principal).get("Federated"))]
        actions = {str(a) for a in items(statement.get("Action"))}
        web_identity = bool(actions & {"sts:AssumeRoleWithWebIdentity", "sts:*", "*"})
        if federated and web_identity and not any(key.endswith(":sub") for key in _condition_keys(statement)):
            findings.append(f"statement {sid} trusts {federated[0]} without a ':sub' condition")
    return findings


@resource_policy(OPEN_TRUST)
def iam_no_open_trust(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type
    restricting = [str(k) for k in items(config.get("restrictingConditionKeys"))]
    yield from trust_findings(json_document(props.get("assumeRolePolicy")), restricting)


def _gcp_grants(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(role, members) pairs of a GCP IAM member, binding or policy resource."""
    if _GCP_IAM_MEMBER.match(resource_type):
        members = items(props.get("members")) + items(props.get("member"))
        return [(str(props.get("role") or ""), [str(m) for m in members])]
    document = json_document(props.get("policyData")) or {}
    return [(str(b.get("role") or ""), [str(m) for m in items(b.get("members"))])
            for b in items(document.get("bindings")) if isinstance(b, Mapping)]


PRIMITIVE_ROLES = RuleInfo(
    id="mlf-gcp-no-primitive-roles",
    title="No roles/owner or roles/editor",
    description="No GCP IAM member, binding or policy grants a forbidden basic role (roles/owner, "
    "roles/editor by default).",
    remediation="Grant predefined or custom roles scoped to the task (e.g. roles/storage.objectViewer).",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(GCP_IAM_MEMBER, GCP_IAM_POLICY),
    section="rbac",
    config={"forbiddenRoles": {"type": "array", "items": {"type": "string"},
                               "default": ["roles/owner", "roles/editor"],
                               "description": "Roles no grant may use."}},
)


@resource_policy(PRIMITIVE_ROLES)
def gcp_no_primitive_roles(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    forbidden = {str(r) for r in items(config.get("forbiddenRoles"))}
    for role, members in _gcp_grants(resource_type, props):
        if role in forbidden:
            yield f"grants {role} to {', '.join(members) or 'members'}"


PUBLIC_MEMBERS = RuleInfo(
    id="mlf-gcp-no-public-members",
    title="No allUsers / allAuthenticatedUsers grants",
    description="No GCP IAM member, binding or policy grants anything to allUsers or "
    "allAuthenticatedUsers (public buckets, anonymously invocable services).",
    remediation="Grant the role to specific users, groups or service accounts.",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(GCP_IAM_MEMBER, GCP_IAM_POLICY),
    section="rbac",
)


@resource_policy(PUBLIC_MEMBERS)
def gcp_no_public_members(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    for role, members in _gcp_grants(resource_type, props):
        public = [m for m in members if m in ("allUsers", "allAuthenticatedUsers")]
        if public:
            yield f"grants {role or 'a role'} to {', '.join(public)}"


OWNER_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR_ID = "b24988ac-6180-42a0-ab88-20f7382dd24c"

AZURE_BROAD_ROLES = RuleInfo(
    id="mlf-azure-no-owner-contributor",
    title="No Owner or Contributor role assignments",
    description="No Azure role assignment grants Owner or Contributor (the built-in role definition ids "
    "in forbiddenRoleDefinitionIds), at any scope.",
    remediation="Assign narrower built-in roles (Storage Blob Data Reader, AcrPull, Azure Kubernetes "
    "Service RBAC Reader...) scoped to the resource.",
    severity=CRITICAL,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AZ_ROLE_ASSIGNMENT,),
    section="rbac",
    config={"forbiddenRoleDefinitionIds": {
        "type": "array", "items": {"type": "string"}, "default": [OWNER_ID, CONTRIBUTOR_ID],
        "description": "Role definition GUIDs no assignment may use (Owner, Contributor)."}},
)


@resource_policy(AZURE_BROAD_ROLES)
def azure_no_owner_contributor(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type
    role = str(props.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    if role in {str(r).lower() for r in items(config.get("forbiddenRoleDefinitionIds"))}:
        name = {OWNER_ID: "Owner", CONTRIBUTOR_ID: "Contributor"}.get(role, role)
        yield f"assigns the {name} role at {props.get('scope') or 'an unknown scope'}"


POLICIES: list[MlfPolicy] = [iam_no_wildcard_admin, iam_no_open_trust, gcp_no_primitive_roles, gcp_no_public_members,
            azure_no_owner_contributor]
