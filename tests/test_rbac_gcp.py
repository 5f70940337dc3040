"""GcpRbac under the mock runtime, and a whole GCP platform composed in MLPlatform's order under the
policy pack.

What a mock test cannot prove: that IAM accepts these conditions on project-level Cloud Storage
grants (uniform bucket-level access must be on, as GcpStorage sets it), that the principals exist,
that GKE maps the container roles to the Kubernetes permissions intended, or that a pod of
``ml-training/training`` really obtains the training service account's token through Workload
Identity. Those need a real project (README: limits).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mlfabric import stackfile
from mlfabric.check import Source, load_pack_config, run_pack
from mlfabric.components import naming
from mlfabric.components.concerns import RbacOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.rbac import FORBIDDEN_ROLES, PERSONA_GRANTS, GcpRbac, bucket_condition
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import ROOT, of_type, only, spec_data

COMPONENT = "mlfabric:rbac:GcpRbac"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
REPO_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
RUN_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
DENY_POLICY = "gcp:iam/denyPolicy:DenyPolicy"
ACCOUNT_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
PROJECT = "ml-platform-test"
BUCKETS = {b: f"fraud-prod-{b}-abc1234" for b in ("datasets", "artifacts", "models")}
PERSONAS = {
    "data-scientist": ["group:data-science@example.com", "user:ana@example.com"],
    "ml-engineer": ["group:ml-engineering@example.com"],
    "platform-admin": ["group:ml-platform@example.com"],
    "ci-deployer": ["serviceAccount:ci@ml-platform-test.iam.gserviceaccount.com"],
}


@dataclass(frozen=True)
class FakeStorage:
    bucket_names: pulumi.Output[dict[str, str]]
    bucket_urls: pulumi.Output[dict[str, str]]
    bucket_ids: pulumi.Output[dict[str, str]]
    encryption_key_id: pulumi.Output[str]
    access_log_bucket: pulumi.Output[str]


@dataclass(frozen=True)
class FakeRegistry:
    registry_urls: pulumi.Output[dict[str, str]]
    model_registry_ids: pulumi.Output[dict[str, str]]
    repository_ids: dict[str, str]
    model_ids: dict[str, str]


@dataclass(frozen=True)
class FakeServing:
    endpoint_names: pulumi.Output[dict[str, str]]
    endpoint_urls: pulumi.Output[dict[str, str]]
    service_names: dict[str, str]


@dataclass(frozen=True)
class FakeCluster:
    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    gpu_pool_names: pulumi.Output[dict[str, str]]


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.records if r.custom)

    def grants(self, member: str) -> set[tuple[str, str]]:
        """(resource, role) of every grant to ``member``."""
        found = set()
        for r in self.records:
            if r.custom and r.inputs.get("member") == member:
                where = r.inputs.get("repository") or r.inputs.get("name") or (
                    "buckets" if "condition" in r.inputs else "project")
                found.add((where, r.inputs["role"]))
        return found


def build(personas: dict[str, Any], *, cluster: bool = True, buckets: dict[str, str] | None = None,
          custom: dict[str, Any] | None = None, allow_guardrail_changes: bool = False) -> Built:
    spec = parse_spec(spec_data("gcp", "prod", rbac={"personas": personas, "custom_personas": custom or {},
                                                     "allow_guardrail_changes": allow_guardrail_changes}))

    def program() -> None:
        o = pulumi.Output.from_input
        handles: dict[str, object] = {
            "storage": FakeStorage(o(buckets if buckets is not None else BUCKETS), o({}), o({}), o("key"), o("")),
            "registry": FakeRegistry(o({}), o({}), {"trainer": "fraud-prod-trainer", "scorer": "fraud-prod-scorer"},
                                     {"fraud-detector": "fraud-prod-fraud-detector"}),
            "serving": FakeServing(o({}), o({}), {"scorer": "fraud-prod-scorer"}),
        }
        if cluster:
            handles["cluster"] = FakeCluster(o("fraud-prod"), o(""), o(""), o(""), o({}))
        ctx = PlatformContext.from_spec(spec, account=PROJECT).with_handles(**handles)
        component = GcpRbac(spec.base_name, spec.rbac, ctx)
        assert isinstance(component, RbacOutputs)
        pulumi.export("persona_roles", component.persona_roles)
        pulumi.export("workload_identity", component.workload_identity)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-central1"),
    )
    return Built(records, outputs)


@pytest.fixture(scope="module")
def prod() -> Built:
    return build(PERSONAS)


def test_creates_exact_grants_for_four_personas_and_the_training_identity(prod: Built) -> None:
    assert prod.counts() == {
        # project-level: 2 bucket grants x 2 data scientists + 1 + 2 + 1 bucket grants, container/Vertex/monitoring
        # roles (4 x 2 data scientists, 4 ml-engineer, 2 ci-deployer, 4 platform-admin), 2 training bucket grants
        PROJECT_MEMBER: 4 + 1 + 2 + 1 + 8 + 4 + 2 + 4 + 2,
        REPO_MEMBER: 2 * 5,   # 2 repositories x 5 principals
        RUN_MEMBER: 5,        # 1 endpoint x 5 principals
        ACCOUNT: 1,
        ACCOUNT_MEMBER: 1,
        DENY_POLICY: 1,       # platform-admin kept off the guardrails
        "gcp:projects/service:Service": 1,  # the IAM API the deny policy needs
    }
    component = only(prod.records, COMPONENT)
    assert all(r.parent == component.urn for r in prod.records if r.custom)


def test_no_grant_uses_a_basic_role_or_a_public_member(prod: Built) -> None:
    roles = {r.inputs["role"] for r in prod.records if r.custom and "role" in r.inputs}
    assert roles and all(role.startswith("roles/") for role in roles)
    assert not roles & FORBIDDEN_ROLES
    members = {r.inputs["member"] for r in prod.records if r.custom and "member" in r.inputs}
    assert not members & {"allUsers", "allAuthenticatedUsers"}
    assert not [g for grants in PERSONA_GRANTS.values() for g in grants if g.role in FORBIDDEN_ROLES]


def test_data_scientists_read_data_pull_images_invoke_and_view(prod: Built) -> None:
    assert prod.grants("user:ana@example.com") == {
        ("buckets", "roles/storage.objectViewer"),
        ("buckets", "roles/storage.objectCreator"),
        ("fraud-prod-trainer", "roles/artifactregistry.reader"),
        ("fraud-prod-scorer", "roles/artifactregistry.reader"),
        ("fraud-prod-scorer", "roles/run.invoker"),
        ("project", "roles/container.viewer"),
        ("project", "roles/aiplatform.viewer"),
        ("project", "roles/monitoring.viewer"),
        ("project", "roles/logging.viewer"),
    }


def test_platform_admins_administer_only_the_platforms_resources(prod: Built) -> None:
    assert prod.grants("group:ml-platform@example.com") == {
        ("buckets", "roles/storage.admin"),
        ("fraud-prod-trainer", "roles/artifactregistry.repoAdmin"),
        ("fraud-prod-scorer", "roles/artifactregistry.repoAdmin"),
        ("fraud-prod-scorer", "roles/run.admin"),
        ("project", "roles/container.admin"),
        ("project", "roles/aiplatform.admin"),
        ("project", "roles/monitoring.viewer"),
        ("project", "roles/logging.viewer"),
    }


def test_bucket_grants_are_conditioned_on_the_platforms_buckets(prod: Built) -> None:
    def condition(member: str, role: str) -> str:
        (grant,) = [r for r in of_type(prod.records, PROJECT_MEMBER)
                    if r.inputs["member"] == member and r.inputs["role"] == role]
        return str(grant.inputs["condition"]["expression"])

    everything = condition("group:ml-engineering@example.com", "roles/storage.objectUser")
    assert everything == bucket_condition(list(BUCKETS.values()))
    for bucket in BUCKETS.values():
        assert f'resource.name == "projects/_/buckets/{bucket}"' in everything
        assert f'resource.name.startsWith("projects/_/buckets/{bucket}/")' in everything
    ci = condition("serviceAccount:ci@ml-platform-test.iam.gserviceaccount.com", "roles/storage.objectCreator")
    assert ci == bucket_condition([BUCKETS["artifacts"], BUCKETS["models"]])
    assert "datasets" not in ci


def test_a_grant_on_buckets_the_spec_lacks_matches_no_bucket() -> None:
    built = build({"data-scientist": ["user:ana@example.com"]}, buckets={"datasets": "fraud-prod-datasets-1"})
    (creator,) = [r for r in of_type(built.records, PROJECT_MEMBER) if r.inputs["role"] == "roles/storage.objectCreator"]
    assert creator.inputs["condition"]["expression"] == 'resource.name == "projects/_/buckets/_"'


def test_a_principal_in_two_personas_gets_each_grant_once() -> None:
    built = build({"data-scientist": ["user:bo@example.com"], "ml-engineer": ["user:bo@example.com"]})
    monitoring = [r for r in of_type(built.records, PROJECT_MEMBER) if r.inputs["role"] == "roles/monitoring.viewer"]
    assert len(monitoring) == 1
    invokers = [r for r in of_type(built.records, RUN_MEMBER) if r.inputs["member"] == "user:bo@example.com"]
    assert len(invokers) == 1
    logical = [r.name for r in built.records if r.custom]
    assert len(logical) == len(set(logical))


def test_training_pods_act_as_their_own_account_through_workload_identity(prod: Built) -> None:
    account = only(prod.records, ACCOUNT)
    email = f"{account.inputs['accountId']}@{PROJECT}.iam.gserviceaccount.com"
    assert prod.outputs["workload_identity"] == email
    binding = only(prod.records, ACCOUNT_MEMBER).inputs
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == f"serviceAccount:{PROJECT}.svc.id.goog[ml-training/training]"
    assert binding["serviceAccountId"] == account.id
    assert prod.grants(f"serviceAccount:{email}") == {
        ("buckets", "roles/storage.objectViewer"), ("buckets", "roles/storage.objectUser")}


def test_without_a_cluster_there_is_no_training_identity_and_no_container_role() -> None:
    built = build(PERSONAS, cluster=False)
    assert ACCOUNT not in built.counts() and ACCOUNT_MEMBER not in built.counts()
    assert built.outputs["workload_identity"] == ""
    assert not [r for r in of_type(built.records, PROJECT_MEMBER) if r.inputs["role"].startswith("roles/container.")]


def test_persona_roles_list_the_predefined_roles_each_persona_holds(prod: Built) -> None:
    roles = prod.outputs["persona_roles"]
    assert set(roles) == set(PERSONAS)
    assert roles["ci-deployer"] == ", ".join(sorted({
        "roles/storage.objectViewer", "roles/storage.objectCreator", "roles/artifactregistry.writer",
        "roles/run.invoker", "roles/container.developer", "roles/aiplatform.user"}))


def test_no_personas_grant_nothing_but_the_training_identity() -> None:
    built = build({})
    assert built.counts() == {ACCOUNT: 1, ACCOUNT_MEMBER: 1, PROJECT_MEMBER: 2}
    assert built.outputs["persona_roles"] == {}


@pytest.mark.parametrize(("access", "template"), [("read", "reader"), ("deploy", "ci-deployer"),
                                                 ("admin", "platform-admin")])
def test_a_custom_persona_gets_the_grants_of_its_access_levels_template(access: str, template: str) -> None:
    member = "group:auditors@example.com"
    custom = build({"auditors": [member]}, custom={"auditors": {"access": access}})
    built_in = build({template: [member]}) if template != "reader" else None
    expected = {
        "reader": {
            ("buckets", "roles/storage.objectViewer"),
            ("fraud-prod-trainer", "roles/artifactregistry.reader"),
            ("fraud-prod-scorer", "roles/artifactregistry.reader"),
            ("fraud-prod-scorer", "roles/run.viewer"),
            ("project", "roles/aiplatform.viewer"),
            ("project", "roles/monitoring.viewer"),
            ("project", "roles/logging.viewer"),
        },
    }
    assert custom.grants(member) == (expected[template] if built_in is None else built_in.grants(member))
    # Same grants, same resource names: a grant is named after its role and member, not its persona.
    if built_in is not None:
        assert {r.name for r in custom.records if r.custom} == {r.name for r in built_in.records if r.custom}
    assert set(custom.outputs["persona_roles"]) == {"auditors"}


def test_the_reader_template_writes_nothing_deploys_nothing_and_invokes_nothing() -> None:
    roles = {g.role for g in PERSONA_GRANTS["reader"]}
    assert all(r.endswith((".objectViewer", ".reader", ".viewer")) for r in roles), roles


def test_principals_given_per_cloud_use_only_the_gcp_list() -> None:
    built = build({"ml-engineer": {"aws": ["arn:aws:iam::123456789012:role/ml"],
                                   "gcp": ["group:ml@example.com"],
                                   "azure": ["00000000-0000-0000-0000-000000000001"]}})
    members = {r.inputs["member"] for r in built.records if r.custom and "member" in r.inputs}
    assert "group:ml@example.com" in members
    assert not [m for m in members if m.startswith("arn:") or m.startswith("0000")]


def test_built_in_persona_grant_names_do_not_change() -> None:
    """Deployed URNs must survive the new persona model: the names are the ones 0.1 declared."""
    built = build({"data-scientist": ["user:ana@example.com"]}, cluster=False)
    names = {r.name for r in built.records if r.custom}
    digest = naming.short_hash("user:ana@example.com")
    assert f"fraud-prod-buckets-storage-objectViewer-{digest}" in names
    assert f"fraud-prod-project-monitoring-viewer-{digest}" in names
    assert f"fraud-prod-repository-trainer-artifactregistry-reader-{digest}" in names


# --- the whole platform ----------------------------------------------------------------------------

# The pack's taggable table maps NotificationChannel to `labels` (the channel's own settings, e.g.
# email_address) instead of `userLabels`, so every channel is reported; reported to the pack owners.
KNOWN_POLICY_GAPS = {("mlf-required-tags", "gcp:monitoring/notificationChannel:NotificationChannel")}


def _compose(stack: str) -> list[ResourceRecord]:
    """Every GCP concern built in MLPlatform's order, as the platform table will wire them."""
    from mlfabric.components.gcp.cluster import GcpTrainingCluster
    from mlfabric.components.gcp.monitoring import GcpMonitoring
    from mlfabric.components.gcp.network import GcpNetwork
    from mlfabric.components.gcp.provider import create_provider
    from mlfabric.components.gcp.registry import GcpRegistry
    from mlfabric.components.gcp.serving import GcpServing
    from mlfabric.components.gcp.storage import GcpStorage

    spec = parse_spec(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml").spec_data)
    training, registry, serving = spec.training, spec.registry, spec.serving
    assert training is not None and registry is not None and serving is not None

    def program() -> None:
        root = pulumi.ComponentResource("mlfabric:platform:MLPlatform", spec.base_name)
        child = pulumi.ResourceOptions(parent=root, providers=[create_provider(spec.base_name, spec, root)])
        ctx = PlatformContext.from_spec(spec, account=spec.gcp.project if spec.gcp else None)
        name = spec.base_name
        ctx = ctx.with_handles(network=GcpNetwork(name, spec.network, ctx, child))
        ctx = ctx.with_handles(storage=GcpStorage(name, spec.storage, ctx, child))
        ctx = ctx.with_handles(registry=GcpRegistry(name, registry, ctx, child))
        ctx = ctx.with_handles(cluster=GcpTrainingCluster(name, training, ctx, child))
        ctx = ctx.with_handles(monitoring=GcpMonitoring(name, spec.monitoring, ctx, child))
        ctx = ctx.with_handles(serving=GcpServing(name, serving, ctx, child))
        GcpRbac(name, spec.rbac, ctx, child)

    records, _, _ = run_program(
        program, project="mlfabric", stack=stack, config={}, secret_keys=[],
        world=World(project="mlfabric", stack=stack, region=spec.region),
    )
    return records


@pytest.mark.parametrize(("stack", "environment", "most"), [("gcp-dev", "dev", 110), ("gcp-prod", "prod", 145)])
def test_the_example_gcp_stacks_compose_into_a_lean_platform_the_policy_pack_accepts(
    stack: str, environment: str, most: int
) -> None:
    records = _compose(stack)
    custom = [r for r in records if r.custom]
    # prod: 135 before issue 16, + the Kubernetes provider, Kueue's namespaces, flavors and the queued
    # pool's check, and the Filestore instance with its API, agent and key grant
    assert len(custom) <= most
    report = run_pack(
        Source(stack, "mlfabric", environment, "gcp", str(Path("stacks") / f"Pulumi.{stack}.yaml"), records),
        load_pack_config(ROOT / "policies" / "config" / f"{environment}.json"),
    )
    unexpected = [v for v in report.mandatory if (v.rule_id, v.resource_type) not in KNOWN_POLICY_GAPS]
    assert unexpected == [], [f"{v.rule_id} {v.resource_name}: {v.message}" for v in unexpected]
    assert not [v for v in report.violations if v.message.startswith("the rule failed to run")]


# --- guardrails (issue 15) ----------------------------------------------------------------------------


def test_admin_principals_are_denied_the_guardrail_permissions(prod: Built) -> None:
    from mlfabric.components.gcp.rbac import GUARDRAIL_PERMISSIONS, GUARDRAIL_ROLES

    deny = only(prod.records, DENY_POLICY)
    assert deny.inputs["parent"].startswith("cloudresourcemanager.googleapis.com%2Fprojects%2F")
    (rule,) = deny.inputs["rules"]
    admins = {r.inputs["member"] for r in prod.records if r.custom and r.inputs.get("role") in GUARDRAIL_ROLES}
    assert admins, "the fixture has a platform admin"
    expected = sorted(f"principalSet://goog/group/{m.removeprefix('group:')}" if m.startswith("group:")
                      else f"principal://goog/subject/{m.removeprefix('user:')}" for m in admins)
    assert rule["denyRule"]["deniedPrincipals"] == expected
    assert rule["denyRule"]["deniedPermissions"] == list(GUARDRAIL_PERMISSIONS)


def test_the_pack_checks_the_same_guardrail_permissions_the_component_denies() -> None:
    from mlfabric.components.gcp import rbac
    from mlfabric.policies.rules import hardening_gcp

    assert hardening_gcp.GUARDRAIL_PERMISSIONS == rbac.GUARDRAIL_PERMISSIONS
    assert set(hardening_gcp.GUARDRAIL_ROLES) == rbac.GUARDRAIL_ROLES
    for member in ("user:a@example.com", "group:g@example.com", "serviceAccount:s@p.iam.gserviceaccount.com", "domain:x.com"):
        assert hardening_gcp.deny_principal(member) == rbac.deny_principal(member)


@pytest.mark.parametrize("member", ["group:g@example.com", "serviceAccount:ci@p.iam.gserviceaccount.com"])
def test_deny_principals_use_the_iam_v2_forms(member: str) -> None:
    from mlfabric.components.gcp.rbac import deny_principal

    assert deny_principal(member) in {"principalSet://goog/group/g@example.com",
                                      "principal://iam.googleapis.com/projects/-/serviceAccounts/ci@p.iam.gserviceaccount.com"}
    assert deny_principal("domain:example.com") is None


def test_the_escape_hatch_declares_no_deny_policy_and_the_pack_reports_it() -> None:
    from tests.policies.helpers import R, messages

    built = build(PERSONAS, allow_guardrail_changes=True)
    assert DENY_POLICY not in built.counts()
    admin = next(r for r in built.records if r.custom and r.inputs.get("role") == "roles/container.admin")
    fixture = R(admin.type, admin.name, {"role": admin.inputs["role"], "member": admin.inputs["member"]})
    assert messages("mlf-gcp-admin-guardrails-denied", [fixture])
