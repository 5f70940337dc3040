"""What the spec means on AWS, or where it says no: the EKS version calendar and its price, the names
and limits AWS checks (instance types, VPC ids, tags), validate == plan, and renames that keep
deployed resources.

What a mock test cannot prove: that EKS still creates the versions the calendar lists on the day
it is used (the calendar is data with a date: ``test_the_calendar_is_at_most_six_months_old``), that
an instance type sells in the region and has quota, that the tag limit of a resource type is 50
(some have lower ones), or that an alias really keeps an auto-named bucket's name (Pulumi carries
an aliased resource's state, and with it the auto-name, into the new URN; the mock gives every
logical name its own auto-name). Those need a real account (README: limits).
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlfabric import stackfile
from mlfabric.components.aws import spec_rules
from mlfabric.components.aws.cost_inventory import control_plane_items
from mlfabric.components.aws.versions import CALENDAR_FILE, eks_calendar
from mlfabric.components.kubernetes.versions import pinned_today, today
from mlfabric.components.spec import SpecError, parse_spec, spec_notes
from mlfabric.diff import diff_views, views_from_document
from mlfabric.testing import Plan, plan_spec
from tests.helpers import ROOT, spec_data

AS_OF = datetime.date(2026, 12, 1)
VERSION_FIELD = "training.cluster.kubernetes_version"


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as error:
        parse_spec(data)
    return error.value.problems


def lines_for(data: dict[str, Any], field: str) -> list[str]:
    return [line for line in problems_of(data) if line.startswith(f"{field}:")]


def training(**cluster: Any) -> dict[str, Any]:
    return {"cluster": cluster, "gpu_pools": [{"name": "l4", "accelerator": "l4"}]}


# --- the EKS version calendar ----------------------------------------------------------------------


def test_the_calendar_is_at_most_six_months_old() -> None:
    """Fails when nobody has updated kubernetes_versions.json for more than 183 days: EKS retires a
    minor version every few months, so an older calendar may pin a default EKS no longer creates."""
    calendar = eks_calendar()
    age = (today() - calendar.as_of).days
    assert age <= 183, f"{CALENDAR_FILE.name} is {age} days old (as_of {calendar.as_of}): update it from {calendar.source}"


def test_the_default_is_the_newest_version_in_standard_support_on_the_as_of_date() -> None:
    calendar = eks_calendar()
    in_standard = [r.minor for r in calendar.releases if calendar.phase(r.minor, calendar.as_of) == "standard"]
    assert calendar.default == in_standard[-1]
    assert calendar.phase(calendar.default, calendar.as_of) == "standard"


def test_every_release_has_a_source_and_consistent_dates() -> None:
    for release in eks_calendar().releases:
        assert release.source.startswith("https://")
        assert release.released < release.end_of_standard
        assert release.end_of_extended is not None and release.end_of_standard < release.end_of_extended


def test_the_calendar_lists_the_most_recently_ended_version() -> None:
    calendar = eks_calendar()
    assert calendar.phase("1.31", AS_OF) == "ended"
    assert calendar.release("1.31") is not None
    assert calendar.release("1.31").end_of_extended == datetime.date(2026, 11, 26)  # type: ignore[union-attr]


def test_an_omitted_version_takes_the_calendars_default() -> None:
    spec = parse_spec(spec_data("aws", "dev", training=training()))
    assert spec.training is not None and spec.training.cluster.version == eks_calendar().default


def test_an_unknown_version_is_refused_with_the_supported_range() -> None:
    with pinned_today(AS_OF):
        [line] = lines_for(spec_data("aws", "dev", training=training(kubernetes_version="1.99")), VERSION_FIELD)
    assert "EKS does not offer this version" in line
    assert "supported on 2026-12-01: 1.32 to 1.35" in line and "'1.99'" in line


def test_a_version_past_the_end_of_extended_support_is_refused() -> None:
    with pinned_today(AS_OF):
        [line] = lines_for(spec_data("aws", "prod", training=training(kubernetes_version="1.31")), VERSION_FIELD)
    assert "EKS support ended on 2026-11-26" in line and "1.32 to 1.35" in line


def test_a_version_in_extended_support_is_allowed_with_a_note_and_the_extended_price() -> None:
    with pinned_today(AS_OF):
        spec = parse_spec(spec_data("aws", "dev", training=training(kubernetes_version="1.32")))
        notes = spec_notes(spec)
    assert any(n.startswith(f"{VERSION_FIELD}: EKS 1.32 is in extended support until 2027-03-23") for n in notes)
    assert any("$0.60/h" in n for n in notes)


def test_the_same_spec_is_judged_by_the_injected_date() -> None:
    data = spec_data("aws", "dev", training=training(kubernetes_version="1.31"))
    with pinned_today(datetime.date(2026, 11, 1)):
        parse_spec(data)  # still in extended support then
    with pinned_today(AS_OF), pytest.raises(SpecError):
        parse_spec(data)


def _control_plane(version: str) -> Any:
    plan = plan_spec(spec_data("aws", "dev", training=training(kubernetes_version=version)), stack="dev")
    [item] = control_plane_items(plan, None)  # type: ignore[arg-type]
    return item


def test_a_cluster_in_standard_support_is_priced_at_the_standard_rate() -> None:
    with pinned_today(AS_OF):
        item = _control_plane("1.35")
    assert item.usd_per_unit_month == pytest.approx(0.10 * 730)
    assert item.note == ""


def test_a_cluster_in_extended_support_is_priced_at_the_extended_rate() -> None:
    with pinned_today(AS_OF):
        item = _control_plane("1.32")
    assert item.usd_per_unit_month == pytest.approx(0.60 * 730)
    assert item.note == "Kubernetes 1.32 is in extended support on 2026-12-01"
    assert (item.item, item.component, item.source) == ("EKS control plane", "cluster", eks_calendar().source)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_example_stacks_validate_with_the_calendar(stack: str) -> None:
    with pinned_today(AS_OF):
        spec = parse_spec(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml").spec_data)
        assert not [n for n in spec_notes(spec) if "kubernetes_version" in n]  # not on extended support
    assert spec.training is not None and spec.training.cluster.version == "1.35"


# --- instance types --------------------------------------------------------------------------------

SYSTEM_MACHINE = "training.cluster.system_pool.machine"
ENDPOINT_INSTANCE = "serving.endpoints[0].instance"


def with_system_machine(machine: str) -> dict[str, Any]:
    return spec_data("aws", "dev", training=training(system_pool={"machine": machine}))


def with_endpoint_instance(instance: str) -> dict[str, Any]:
    return spec_data("aws", "dev", registry={"repositories": ["scorer"], "models": ["fraud-detector"]},
                     serving={"endpoints": [{"name": "scorer", "model": "fraud-detector", "image": "scorer:1", "instance": instance}]})


@pytest.mark.parametrize("machine", ["m6i.large", "c7i.2xlarge", "g5.xlarge", "r6i.4xlarge"])
def test_x86_64_ec2_instance_types_are_accepted_for_the_system_pool(machine: str) -> None:
    parse_spec(with_system_machine(machine))


def test_an_unknown_system_pool_machine_is_refused_with_the_nearest_known_names() -> None:
    [line] = lines_for(with_system_machine("m6i.larg"), SYSTEM_MACHINE)
    assert "not an EC2 instance type" in line
    assert re.search(r"nearest: [^()]*m6i\.large", line)
    assert line.endswith("(got 'm6i.larg')")


@pytest.mark.parametrize(("machine", "hint"), [
    ("n1-standard-4", "looks like a GCP machine type"),
    ("e2-standard-4", "looks like a GCP machine type"),
    ("Standard_D4s_v5", "looks like an Azure VM size"),
])
def test_another_clouds_machine_name_is_refused_saying_so(machine: str, hint: str) -> None:
    [line] = lines_for(with_system_machine(machine), SYSTEM_MACHINE)
    assert hint in line


def test_a_nul_byte_and_a_huge_name_are_refused_in_one_short_line() -> None:
    [nul] = lines_for(with_system_machine("m6i.large\x00"), SYSTEM_MACHINE)
    assert "not an EC2 instance type" in nul and "nearest" not in nul
    [huge] = lines_for(with_system_machine("x" * 100_000), SYSTEM_MACHINE)
    assert "(100000 characters)" in huge and len(huge) < 300


def test_a_graviton_system_pool_is_refused_because_the_system_ami_is_x86_64() -> None:
    [line] = lines_for(with_system_machine("m7g.large"), SYSTEM_MACHINE)
    assert "x86_64" in line and "m6i.large" in line


@pytest.mark.parametrize("instance", ["ml.g5.xlarge", "g5.xlarge", "ml.m5.large", "ml.g6e.2xlarge", "ml.inf2.xlarge"])
def test_sagemaker_endpoint_instance_types_are_accepted_with_or_without_the_ml_prefix(instance: str) -> None:
    parse_spec(with_endpoint_instance(instance))


@pytest.mark.parametrize(("instance", "near"), [("ml.g5.xlarg", "ml.g5.xlarge"), ("ml.m5.larg", "ml.m5.large")])
def test_an_unknown_endpoint_instance_is_refused_with_the_nearest_sagemaker_names(instance: str, near: str) -> None:
    [line] = lines_for(with_endpoint_instance(instance), ENDPOINT_INSTANCE)
    assert "not a SageMaker endpoint instance type" in line and near in line


@pytest.mark.parametrize("instance", ["n1-standard-4", "Standard_NC6s_v3", "m6i.large\x00", "y" * 100_000])
def test_an_endpoint_instance_of_another_cloud_or_nonsense_is_refused(instance: str) -> None:
    assert lines_for(with_endpoint_instance(instance), ENDPOINT_INSTANCE)


def test_an_ec2_type_sagemaker_does_not_sell_is_refused_for_an_endpoint() -> None:
    assert lines_for(with_endpoint_instance("m6i.metal"), ENDPOINT_INSTANCE)


def test_every_catalogue_shape_is_sold_by_ec2_and_sagemaker() -> None:
    from mlfabric.components import catalog

    ec2, sagemaker = spec_rules.instance_types()
    for accelerator in catalog.accelerators_offered("aws"):
        for count in catalog.gpu_counts("aws", accelerator):
            machine = catalog.gpu_shape("aws", accelerator, count).machine
            assert machine in ec2, machine
        assert "ml." + catalog.gpu_shape("aws", accelerator).machine in sagemaker, accelerator


# --- network ids ------------------------------------------------------------------------------------

@pytest.mark.parametrize("vpc", ["vpc-0a1b2c3d", "vpc-0123456789abcdef0"])
def test_vpc_ids_of_both_lengths_are_accepted(vpc: str) -> None:
    parse_spec(spec_data("aws", "dev", network={"existing_network_id": vpc}))


@pytest.mark.parametrize("vpc", ["my-vpc", "vpc-0123456789ABCDEF0", "vpc-0123", "subnet-0a1b2c3d",
                                 "projects/p/global/networks/n"])
def test_anything_else_is_refused_as_an_existing_network_id(vpc: str) -> None:
    [line] = lines_for(spec_data("aws", "dev", network={"existing_network_id": vpc}), "network.existing_network_id")
    assert "must be a VPC id" in line


# --- tags -------------------------------------------------------------------------------------------------

def many_tags(count: int) -> dict[str, str]:
    return {f"tag{i:02d}": "v" for i in range(count)}


def test_sixty_tags_are_refused_with_the_limit_explained() -> None:
    [line] = lines_for(spec_data("aws", "dev", tags=many_tags(60), training=training()), "tags")
    assert "AWS allows 50 tags per resource" in line and "at most 37 global tags (got 60)" in line


def test_without_a_cluster_more_global_tags_fit() -> None:
    parse_spec(spec_data("aws", "dev", tags=many_tags(44)))
    assert lines_for(spec_data("aws", "dev", tags=many_tags(45)), "tags")


def _largest_tag_maps(plan: Plan) -> Counter[str]:
    largest: Counter[str] = Counter()
    for record in plan.custom_resources:
        maps = [record.inputs.get("tags")]
        maps += [spec.get("tags") for spec in record.inputs.get("tagSpecifications") or []]
        for tags in maps:
            if isinstance(tags, dict):
                largest[record.type] = max(largest[record.type], len(tags))
    return largest


def test_the_most_global_tags_allowed_keep_every_resource_within_aws_limit() -> None:
    """The constants spec_rules counts with match what the components add (the prod stack has every
    kind of resource): with the most global tags allowed, no resource carries more than 50 minus the
    tags EKS adds to node instances."""
    data = stackfile.load(ROOT / "stacks" / "Pulumi.prod.yaml").spec_data
    spec = parse_spec(data)
    allowed = spec_rules.max_global_tags(spec)
    plan = plan_spec({**data, "tags": many_tags(allowed)}, stack="prod")
    largest = _largest_tag_maps(plan)
    assert max(largest.values()) == spec_rules.MAX_TAGS - spec_rules.EKS_ADDED_TAGS
    # the prod stack's a100 pool has EFA: one more node-template tag
    assert largest["aws:eks/nodeGroup:NodeGroup"] == (allowed + spec_rules.IDENTITY_TAGS + spec_rules.CLUSTER_RESOURCE_TAGS
                                                       + spec_rules.EFA_RESOURCE_TAGS)


def test_without_a_cluster_the_most_global_tags_allowed_fit_too() -> None:
    data = spec_data("aws", "prod", network={"availability_zones": 3})
    allowed = spec_rules.max_global_tags(parse_spec(data))
    largest = _largest_tag_maps(plan_spec({**data, "tags": many_tags(allowed)}, stack="prod"))
    assert max(largest.values()) <= spec_rules.MAX_TAGS


@pytest.mark.parametrize("value", ["risk-ml", "4711", "Équipe données", "a/b:c=d+e@f_g.h"])
def test_tag_values_aws_apis_accept_pass(value: str) -> None:
    parse_spec(spec_data("aws", "dev", tags={"team": value}))


@pytest.mark.parametrize("value", ["a,b", "why?", "x!", "tab\there", "quote\"d"])
def test_tag_values_iam_and_sagemaker_refuse_are_refused(value: str) -> None:
    [line] = lines_for(spec_data("aws", "dev", tags={"team": value}), "tags.team")
    assert "AWS tag values take only letters, digits, spaces and _ . : / = + - @" in line


def test_tag_keys_differing_only_in_case_are_refused_because_iam_ignores_case() -> None:
    [line] = lines_for(spec_data("aws", "dev", tags={"team": "a", "Team": "b"}), "tags.Team")
    assert "collides with 'team'" in line
    [line] = lines_for(spec_data("aws", "dev", tags={"Mlfabric-Persona": "x"}), "tags.Mlfabric-Persona")
    assert "collides with 'mlfabric-persona'" in line


# --- traffic ------------------------------------------------------------------------------------------------

def with_traffic(**traffic: Any) -> dict[str, Any]:
    return spec_data("aws", "dev", registry={"repositories": ["scorer"], "models": ["fraud-detector"]},
                     serving={"endpoints": [{"name": "scorer", "model": "fraud-detector", "image": "scorer:1",
                                             "traffic": traffic}]})


def test_a_step_size_with_an_all_at_once_update_is_refused_as_a_no_op() -> None:
    [line] = lines_for(with_traffic(strategy="all-at-once", canary_percent=50),
                       "serving.endpoints[0].traffic.canary_percent")
    assert "all-at-once update has no step to size" in line and "(got 50)" in line


def test_all_at_once_without_a_step_size_and_canary_with_one_are_accepted() -> None:
    parse_spec(with_traffic(strategy="all-at-once"))
    parse_spec(with_traffic(strategy="canary", canary_percent=50))


# --- personas ---------------------------------------------------------------------------------------------

def test_a_custom_persona_named_like_the_training_workload_role_is_refused() -> None:
    data = spec_data("aws", "dev", rbac={"custom_personas": {"training": {"access": "read"}}})
    [line] = lines_for(data, "rbac.custom_personas.training")
    assert "fraud-dev-training" in line


# --- validate == plan ---------------------------------------------------------------------------------------

AWS_HOME = Path(__file__).resolve().parent.parent / "components" / "aws"


def test_no_aws_component_raises_or_warns_for_a_spec_reason() -> None:
    """Every spec-level refusal is a spec rule or a capability row, so validate reports it; the
    components keep only assertions on internal invariants."""
    for module in sorted(AWS_HOME.glob("*.py")):
        text = module.read_text()
        assert "RunError" not in text, module.name
        assert "log.warn" not in text, module.name


def test_every_problem_is_reported_at_once() -> None:
    data = spec_data(
        "aws", "prod", tags=many_tags(60),
        network={"existing_network_id": "my-vpc"},
        training=training(kubernetes_version="1.99", system_pool={"machine": "n1-standard-4"}),
        registry={"repositories": ["scorer"], "models": ["fraud-detector"]},
        serving={"endpoints": [{"name": "scorer", "model": "fraud-detector", "image": "scorer:1", "instance": "ml.g5.xlarg",
                                "traffic": {"strategy": "linear", "canary_percent": 5, "bake_minutes": 60}}]},
        monitoring={"log_retention_days": 10},
    )
    with pinned_today(AS_OF):
        fields = {line.split(":", 1)[0] for line in problems_of(data)}
    assert fields >= {"tags", "network.existing_network_id", VERSION_FIELD, SYSTEM_MACHINE, ENDPOINT_INSTANCE,
                      "serving.endpoints[0].traffic", "monitoring.log_retention_days"}


# --- renames -------------------------------------------------------------------------------------------------

def dev_stack() -> dict[str, Any]:
    data: dict[str, Any] = stackfile.load(ROOT / "stacks" / "Pulumi.dev.yaml").spec_data
    return data


def rename_diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[Plan, Plan, Any]:
    old, new = plan_spec(before, stack="dev"), plan_spec(after, stack="dev")
    diff = diff_views(views_from_document(old.to_json(), "old"), views_from_document(new.to_json(), "new"))
    return old, new, diff


def physical(plan: Plan, type_token: str, key: str) -> list[Any]:
    return sorted((r.inputs.get(key) for r in plan.custom_resources if r.type == type_token), key=str)


def test_a_renamed_bucket_keeps_every_resource_through_aliases() -> None:
    before = dev_stack()
    after = {**before, "storage": {"buckets": [{"name": "training-data", "renamed_from": "datasets",
                                               "retention_days": 90}, {"name": "artifacts"}, {"name": "models"}]}}
    old, new, diff = rename_diff(before, after)
    assert not diff.removed and not diff.replaced and not diff.added
    renamed = {old_urn.rsplit("::", 1)[1] for old_urn, _ in diff.aliased}
    # the bucket and every setting resource of it (ownership, public access, versioning, encryption,
    # lifecycle, policy)
    assert renamed == {"fraud-dev-datasets"}
    assert len(diff.aliased) == 7
    # auto-named: no physical-name input in either plan, so nothing forces a replacement (the engine
    # keeps an aliased resource's auto-name)
    assert physical(old, "aws:s3/bucket:Bucket", "bucket") == physical(new, "aws:s3/bucket:Bucket", "bucket") == [
        None, None, None]


def test_a_renamed_endpoint_keeps_its_physical_names_and_every_resource() -> None:
    before = dev_stack()
    endpoint = {**before["serving"]["endpoints"][0], "name": "scoring", "renamed_from": ["scorer"]}
    after = {**before, "serving": {"endpoints": [endpoint]}}
    old, new, diff = rename_diff(before, after)
    assert not diff.removed and not diff.replaced and not diff.added
    assert len(diff.aliased) >= 10  # role, model, configuration, 4 alarms, endpoint, scaling target and policy
    for token, key in (("aws:sagemaker/endpoint:Endpoint", "name"), ("aws:iam/role:Role", "name"),
                       ("aws:cloudwatch/metricAlarm:MetricAlarm", "name"), ("aws:appautoscaling/policy:Policy", "name")):
        assert physical(old, token, key) == physical(new, token, key), token
    assert physical(new, "aws:sagemaker/endpoint:Endpoint", "name") == ["fraud-dev-scorer"]


def test_a_renamed_repository_and_gpu_pool_keep_their_resources() -> None:
    before = dev_stack()
    after = {**before,
             "registry": {**before["registry"], "repositories": ["training", "scorer"],
                          "renamed_from": {"training": "trainer"}},
             "training": {**before["training"], "gpu_pools": [{**before["training"]["gpu_pools"][0],
                                                               "name": "inference", "renamed_from": "l4"}]}}
    old, new, diff = rename_diff(before, after)
    # The pool's Kueue ResourceFlavor is named after the pool (queues refer to it by that name), so a
    # renamed pool gets a new flavor; it holds no state (kubernetes/queueing.py gives it no alias).
    stateless = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
    assert [r.urn.rsplit("::", 1)[1] for r in diff.removed] == ["fraud-dev-flavor-l4"]
    assert all(r.urn.split("$")[-1].startswith(stateless) for r in diff.removed)
    assert not diff.replaced
    renamed = {old_urn.rsplit("::", 1)[1] for old_urn, _ in diff.aliased}
    assert {"fraud-dev-repo-trainer", "fraud-dev-gpu-l4", "fraud-dev-gpu-l4-label-pool"} <= renamed
    assert physical(old, "aws:ecr/repository:Repository", "name") == physical(new, "aws:ecr/repository:Repository", "name")


def test_a_renamed_model_keeps_its_model_package_group() -> None:
    before = dev_stack()
    endpoint = {**before["serving"]["endpoints"][0], "model": "fraud-scorer"}
    after = {**before, "registry": {**before["registry"], "models": ["fraud-scorer"],
                                    "renamed_from": {"fraud-scorer": ["fraud-detector"]}},
             "serving": {"endpoints": [endpoint]}}
    old, new, diff = rename_diff(before, after)
    assert not diff.removed and not diff.replaced
    token = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
    assert physical(old, token, "modelPackageGroupName") == physical(new, token, "modelPackageGroupName") == [
        "fraud-dev-fraud-detector"]
