"""The spec: the invalid-spec corpus (exact messages), environment defaults, and properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlfabric.components import catalog
from mlfabric.components.kit import kit_for
from mlfabric.components.spec import ENV_DEFAULTS_KEY, PlatformSpec, SpecError, json_schema, parse_spec
from tests.helpers import ROOT, spec_data


def problems_of(data: Any) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    return caught.value.problems


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


AWS = spec_data("aws", "dev")
PROD = spec_data("aws", "prod")

# (id, spec, the exact lines expected)
INVALID: list[tuple[str, Any, list[str]]] = [
    ("not a mapping", ["a"], ["mlfabric:platform: must be a mapping of spec fields (got ['a'])"]),
    # --- lifecycle (issue 17) ---
    ("batch job with an unknown model, team and accelerator, and a bad cron", with_(
        AWS, batch={"jobs": [{"name": "nightly", "model": "ghost", "image": "scorer:1", "input_prefix": "in/",
                              "team": "nobody", "accelerator": "tpu", "schedule": "0 2 * *"}]}),
     ["batch.jobs[0].schedule: must be a cron expression of five fields (got '0 2 * *')"]),
    ("batch job with an unknown model, team and accelerator", with_(
        AWS, batch={"jobs": [{"name": "nightly", "model": "ghost", "image": "scorer:1", "input_prefix": "in/",
                              "team": "nobody", "accelerator": "tpu"}]}),
     ["batch.jobs[0].model: not declared in registry.models (got 'ghost'; declared: none)",
      "batch.jobs[0].team: not a team of teams (got 'nobody'; declared: none)",
      "batch.jobs[0].accelerator: 'tpu' is not offered on aws (offered: t4, a10g, l4, a100-40gb, a100-80gb, h100-80gb)",
      "batch.jobs[0].image: names no repository of registry.repositories and is not a full image URL (got 'scorer:1')",
      # AWS runs batch jobs on the training cluster (components/kubernetes/batch_rules.py)
      "batch: batch jobs run on the training cluster: add a training section (got 1 job(s) and no training)"]),
    ("notebooks for an unknown team", with_(AWS, notebooks={"teams": ["vision"]}),
     ["notebooks.teams[0]: not a team of teams (got 'vision'; declared: none)",
      "notebooks: the SageMaker Studio domain runs in the platform VPC, which mlfabric builds with training or "
      "serving: declare one of them (got neither)"]),
    ("notebooks that never stop", with_(AWS, notebooks={"idle_minutes": 5}),
     ["notebooks.idle_minutes: input should be greater than or equal to 15 (got 5)"]),
    # --- teams (issue 16) ---
    ("teams without training", with_(AWS, teams=[{"name": "vision"}]),
     ["teams: needs a training section: teams share the training cluster (got 1 team(s) and no training)"]),
    ("team quota on an unknown pool, an unknown persona, a duplicate team", with_(
        AWS, training={"gpu_pools": [{"name": "l4", "accelerator": "l4", "max_nodes": 2}]},
        teams=[{"name": "vision", "members": {"intern": []}, "gpu_quota": [{"pool": "a100", "gpus": 1}]},
               {"name": "vision"}]),
     ["teams[1]: duplicate name (got 'vision')",
      "teams[0].members.intern: not a persona: use one of ci-deployer, data-scientist, ml-engineer, platform-admin, "
      "reader (got 'intern')",
      "teams[0].gpu_quota[0].pool: not a pool of training.gpu_pools (got 'a100'; declared: l4)"]),
    ("teams guaranteed more GPUs than the pool holds", with_(
        AWS, training={"gpu_pools": [{"name": "l4", "accelerator": "l4", "max_nodes": 2}]},
        teams=[{"name": "vision", "gpu_quota": [{"pool": "l4", "gpus": 2}]},
               {"name": "fraud", "gpu_quota": [{"pool": "l4", "gpus": 1}]}]),
     ["teams: the teams are guaranteed 3 GPUs of pool 'l4', which holds at most 2 (max_nodes x GPUs per node); "
      "lower the quotas or raise max_nodes (got 3)"]),
    ("bad team name and prefix", with_(
        AWS, training={}, teams=[{"name": "Vision-Team", "storage_prefix": "/abs"}]),
     ["teams[0].name: must be 2-15 lowercase letters or digits, starting with a letter (got 'Vision-Team')",
      "teams[0].storage_prefix: must be a relative object prefix ending in '/', e.g. 'teams/vision/' (lowercase "
      "letters, digits, '.', '_', '-', '/') (got '/abs')"]),
    ("two quotas for one pool", with_(
        AWS, training={"gpu_pools": [{"name": "l4", "accelerator": "l4"}]},
        teams=[{"name": "vision", "gpu_quota": [{"pool": "l4", "gpus": 1}, {"pool": "l4", "gpus": 1}]}]),
     ["teams[0].gpu_quota[1].pool: a second quota for the same pool (got 'l4')"]),
    ("unknown top-level key", with_(AWS, colour="blue"),
     ["colour: unknown key (allowed: spec_version, name, environment, cloud, region, tags, deletion_protection, "
      "aws, gcp, azure, network, storage, training, registry, serving, monitoring, rbac, teams, tracking, notebooks, batch, budget)"]),
    ("missing name", {k: v for k, v in AWS.items() if k != "name"}, ["name: required field is missing"]),
    ("unknown environment", with_(AWS, environment="qa"), ["environment: must be one of 'dev', 'staging' or 'prod' (got 'qa')"]),
    ("unknown cloud", with_(AWS, cloud="oracle"), ["cloud: must be one of 'aws', 'gcp' or 'azure' (got 'oracle')"]),
    ("spec_version from the future", with_(AWS, spec_version=2), ["spec_version: must be one of 1 (got 2)"]),
    ("uppercase platform name", with_(AWS, name="Fraud"),
     ["name: must be 3-20 lowercase letters, digits or single hyphens, starting with a letter (got 'Fraud')"]),
    ("platform name too long", with_(AWS, name="a" * 21),
     ["name: must be 3-20 lowercase letters, digits or single hyphens, starting with a letter (got 'aaaaaaaaaaaaaaaaaaaaa')"]),
    ("gcp region on aws", with_(AWS, region="us-central1"),
     ["region: not a aws region (got 'us-central1'); e.g. us-east-1, us-east-2, us-west-1, us-west-2"]),
    ("invalid cidr", with_(AWS, network={"cidr": "10.0.0.0/33"}),
     ["network.cidr: not a valid IPv4 CIDR block such as 10.0.0.0/16 (got '10.0.0.0/33')"]),
    ("cidr too small for subnets", with_(AWS, network={"cidr": "10.0.0.0/24"}),
     ["network.cidr: must be /20 or larger to hold public and private subnets per zone (got '10.0.0.0/24')"]),
    ("too many zones", with_(AWS, network={"availability_zones": 7}),
     ["network.availability_zones: input should be less than or equal to 6 (got 7)"]),
    ("unknown network key", with_(AWS, network={"vpc_cidr": "10.0.0.0/16"}),
     ["network.vpc_cidr: unknown key (allowed: cidr, availability_zones, nat_gateways, flow_logs, private_endpoints, existing_network_id)"]),
    ("duplicate bucket", with_(AWS, storage={"buckets": [{"name": "data"}, {"name": "data"}]}),
     ["storage.buckets[1]: duplicate name (got 'data')"]),
    ("bad bucket name", with_(AWS, storage={"buckets": [{"name": "Data_Sets"}]}),
     ["storage.buckets[0].name: must be 3-24 lowercase letters, digits or single hyphens, starting with a letter (got 'Data_Sets')"]),
    ("archive after retention", with_(AWS, storage={"buckets": [{"name": "data", "retention_days": 60, "archive_after_days": 90}]}),
     ["storage.buckets[0].archive_after_days: must be less than retention_days (60) (got 90)"]),
    ("force destroy in prod", with_(PROD, storage={"force_destroy": True}),
     ["storage.force_destroy: only allowed in dev (got true in prod)"]),
    ("force destroy with protection", with_(AWS, deletion_protection=True),
     ["storage.force_destroy: contradicts deletion_protection: true (got true)"]),
    ("reserved bucket name", with_(AWS, storage={"buckets": [{"name": "access-logs"}]}),
     ["storage.buckets[0].name: reserved for the access-log bucket (got 'access-logs')"]),
    ("no buckets", with_(AWS, storage={"buckets": []}),
     ["storage.buckets: list should have at least 1 item after validation, not 0 (got [])"]),
    ("two-letter bucket name", with_(AWS, storage={"buckets": [{"name": "ds"}]}),
     ["storage.buckets[0].name: must be 3-24 lowercase letters, digits or single hyphens, starting with a letter (got 'ds')"]),
    ("eks in one zone", with_(AWS, network={"availability_zones": 1}, training={}),
     ["network.availability_zones: EKS needs at least 2 zones for a training cluster (got 1)"]),
    ("negative retention", with_(AWS, storage={"buckets": [{"name": "data", "retention_days": -1}]}),
     ["storage.buckets[0].retention_days: input should be greater than or equal to 1 (got -1)"]),
    ("string for a count", with_(AWS, training={"gpu_pools": [{"name": "l4", "accelerator": "l4", "max_nodes": "many"}]}),
     ["training.gpu_pools[0].max_nodes: input should be a valid integer, unable to parse string as an integer (got 'many')"]),
    ("gpu pool min above max", with_(AWS, training={"gpu_pools": [{"name": "l4", "accelerator": "l4", "min_nodes": 5, "max_nodes": 2}]}),
     ["training.gpu_pools[0].min_nodes: must be <= max_nodes (2) (got 5)"]),
    ("accelerator the cloud lacks", spec_data("azure", "dev", training={"gpu_pools": [{"name": "gpu", "accelerator": "a10g"}]}),
     ["training.gpu_pools[0].accelerator: 'a10g' is not offered on azure (offered: t4, a100-40gb, a100-80gb, h100-80gb)"]),
    ("unknown accelerator", with_(AWS, training={"gpu_pools": [{"name": "gpu", "accelerator": "b200"}]}),
     ["training.gpu_pools[0].accelerator: 'b200' is not offered on aws (offered: t4, a10g, l4, a100-40gb, a100-80gb, h100-80gb)"]),
    ("impossible gpu count", with_(AWS, training={"gpu_pools": [{"name": "a100", "accelerator": "a100-80gb", "gpus_per_node": 4}]}),
     ["training.gpu_pools[0].gpus_per_node: a100-80gb on aws comes in nodes of 8 GPUs (got 4)"]),
    ("pool name with hyphen", with_(AWS, training={"gpu_pools": [{"name": "big-gpu", "accelerator": "l4"}]}),
     ["training.gpu_pools[0].name: must be 1-12 lowercase letters or digits, starting with a letter (got 'big-gpu')"]),
    ("duplicate pools", with_(AWS, training={"gpu_pools": [{"name": "l4", "accelerator": "l4"}, {"name": "l4", "accelerator": "t4"}]}),
     ["training.gpu_pools[1]: duplicate name (got 'l4')"]),
    ("bad kubernetes version", with_(AWS, training={"cluster": {"kubernetes_version": "1.31.2"}}),
     ["training.cluster.kubernetes_version: must be a Kubernetes minor version such as '1.31' (got '1.31.2')"]),
    ("bad public cidr", with_(AWS, training={"cluster": {"endpoint_public_cidrs": ["0.0.0.0/99"]}}),
     ["training.cluster.endpoint_public_cidrs[0]: not a valid IPv4 CIDR block such as 10.0.0.0/16 (got '0.0.0.0/99')"]),
    ("endpoint model not registered", with_(AWS, registry={"repositories": ["scorer"]},
                                             serving={"endpoints": [{"name": "scorer", "model": "fraud", "image": "scorer:1"}]}),
     ["serving.endpoints[0].model: not declared in registry.models (got 'fraud'; declared: none)"]),
    ("endpoint image from unknown repository", with_(AWS, registry={"models": ["fraud"]},
                                                      serving={"endpoints": [{"name": "scorer", "model": "fraud", "image": "other:1"}]}),
     ["serving.endpoints[0].image: names no repository of registry.repositories and is not a full image URL (got 'other:1')"]),
    ("instance and accelerator", with_(AWS, registry={"models": ["fraud"]}, serving={"endpoints": [
        {"name": "scorer", "model": "fraud", "image": "r.example.com/s:1", "instance": "ml.g5.xlarge", "accelerator": "a10g"}]}),
     ["serving.endpoints[0].accelerator: give either instance or accelerator, not both (got instance 'ml.g5.xlarge' and accelerator 'a10g')"]),
    ("replicas min above max", with_(AWS, registry={"models": ["fraud"]}, serving={"endpoints": [
        {"name": "scorer", "model": "fraud", "image": "r.example.com/s:1", "min_replicas": 5, "max_replicas": 2}]}),
     ["serving.endpoints[0].min_replicas: must be <= max_replicas (2) (got 5)"]),
    ("challenger takes all traffic", with_(AWS, registry={"models": ["fraud"]}, serving={"endpoints": [
        {"name": "scorer", "model": "fraud", "image": "r.example.com/s:1", "traffic": {"challenger": {"image": "r.example.com/s:2", "percent": 100}}}]}),
     ["serving.endpoints[0].traffic.challenger.percent: must be <= 99 so the main version keeps traffic (got 100)"]),
    ("challenger and shadow on sagemaker", with_(AWS, registry={"models": ["fraud"]}, serving={"endpoints": [
        {"name": "scorer", "model": "fraud", "image": "r.example.com/s:1", "traffic": {
            "challenger": {"image": "r.example.com/s:2", "percent": 10}, "shadow": {"image": "r.example.com/s:3", "percent": 50}}}]}),
     ["serving.endpoints[0].traffic.shadow: SageMaker runs a shadow variant only beside a single production variant: "
      "drop the challenger or the shadow (got both)"]),
    ("data capture without artifacts bucket", with_(PROD, storage={"buckets": [{"name": "datasets"}]}, registry={"models": ["fraud"]},
                                                     serving={"endpoints": [{"name": "scorer", "model": "fraud", "image": "r.example.com/s@sha256:" + "0" * 64}]}),
     ["serving.endpoints[0].data_capture_percent: data capture writes to the 'artifacts' bucket, which storage.buckets "
      "does not declare (got 20)"]),
    ("bad notify target", with_(AWS, monitoring={"notify": ["oncall"]}),
     ["monitoring.notify[0]: must be an e-mail address or an https:// webhook URL (got 'oncall')"]),
    ("cloudwatch retention", with_(AWS, monitoring={"log_retention_days": 45}),
     ["monitoring.log_retention_days: CloudWatch Logs accepts only 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
      "400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (got 45)"]),
    ("unknown persona", with_(AWS, rbac={"personas": {"intern": ["arn:aws:iam::123456789012:role/X"]}}),
     ["rbac.personas.intern: not a persona: use one of data-scientist, ml-engineer, platform-admin, ci-deployer or "
      "declare it under rbac.custom_personas (got 'intern')"]),
    ("gcp member on aws", with_(AWS, rbac={"personas": {"data-scientist": ["user:ana@example.com"]}}),
     ["rbac.personas.data-scientist[0]: must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/Name (got 'user:ana@example.com')"]),
    ("reserved tag", with_(AWS, tags={"managed-by": "me"}),
     ["tags.managed-by: reserved for mlfabric's identity tags (got 'managed-by')"]),
    ("gcp label invalid after lowercasing", spec_data("gcp", "dev", tags={"team": "Risk ML"}),
     ["tags.team: not a valid GCP label value once lowercased: at most 63 lowercase letters, digits, '_' or '-' (got 'Risk ML')"]),
    ("aws block on gcp", spec_data("gcp", "dev", aws={"account_id": "123456789012"}),
     ["aws: only applies when cloud is aws (cloud is gcp)"]),
    ("several problems at once", with_(AWS, environment="qa", cloud="oracle"),
     ["environment: must be one of 'dev', 'staging' or 'prod' (got 'qa')",
      "cloud: must be one of 'aws', 'gcp' or 'azure' (got 'oracle')"]),
]


@pytest.mark.parametrize(("data", "expected"), [(d, e) for _, d, e in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_spec_reports_exact_lines(data: Any, expected: list[str]) -> None:
    assert problems_of(data) == expected


# --- each cloud's own rules, from its home (components/<cloud>/spec_rules.py, through its kit) --------

# (cloud, sections that break one of its rules, the exact line, a cloud on which they are fine)
CLOUD_RULES: list[tuple[str, dict[str, Any], str, str]] = [
    ("aws", {"network": {"availability_zones": 1}, "training": {}},
     "network.availability_zones: EKS needs at least 2 zones for a training cluster (got 1)", "gcp"),
    ("gcp", {"tags": {"team": "Risk ML"}},
     "tags.team: not a valid GCP label value once lowercased: at most 63 lowercase letters, digits, '_' or '-' "
     "(got 'Risk ML')", "azure"),
    ("azure", {"monitoring": {"log_retention_days": 20}},
     "monitoring.log_retention_days: Log Analytics keeps 30 to 730 days (got 20)", "gcp"),
]


@pytest.mark.parametrize(("cloud", "sections", "line", "elsewhere"), CLOUD_RULES, ids=[c for c, *_ in CLOUD_RULES])
def test_a_clouds_own_rule_fires_through_parse_spec_on_that_cloud_only(
    cloud: str, sections: dict[str, Any], line: str, elsewhere: str
) -> None:
    assert problems_of(spec_data(cloud, "dev", **sections)) == [line]
    assert parse_spec(spec_data(elsewhere, "dev", **sections)).cloud == elsewhere


@pytest.mark.parametrize("cloud", catalog.CLOUDS)
def test_each_kits_rules_find_nothing_in_a_valid_spec(cloud: str) -> None:
    assert kit_for(cloud).spec_rules(parse_spec(spec_data(cloud, "dev"))) == []


def test_gcp_collects_its_label_problems_with_the_cloud_neutral_ones() -> None:
    data = spec_data("gcp", "dev", tags={"Team": "a", "team": "b", "managed-by": "Not A Label"},
                     monitoring={"log_retention_days": 45})
    # The reserved key's value is not judged as a label on top; retention is free on GCP.
    assert problems_of(data) == [
        "tags.managed-by: reserved for mlfabric's identity tags (got 'managed-by')",
        "tags.Team: collides with another key once lowercased for GCP (got 'Team')",
        "tags.team: collides with another key once lowercased for GCP (got 'team')",
    ]


def test_corpus_has_at_least_25_invalid_specs() -> None:
    assert len(INVALID) >= 25


def test_every_example_stack_is_valid() -> None:
    import yaml

    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        data = yaml.safe_load(path.read_text())["config"]["mlfabric:platform"]
        assert parse_spec(data).name, path


@pytest.mark.parametrize(
    ("environment", "protected", "versioning", "spot", "zones", "min_replicas"),
    [("dev", False, False, True, 2, 1), ("staging", False, True, False, 2, 2), ("prod", True, True, False, 3, 2)],
)
def test_environment_defaults_are_applied_by_the_spec(
    environment: str, protected: bool, versioning: bool, spot: bool, zones: int, min_replicas: int
) -> None:
    spec = parse_spec(spec_data("aws", environment, training={"gpu_pools": [{"name": "l4", "accelerator": "l4"}]},
                                registry={"models": ["fraud"], "repositories": ["scorer"]},
                                serving={"endpoints": [{"name": "scorer", "model": "fraud", "image": "scorer:1"}]}))
    assert spec.deletion_protection is protected
    assert spec.storage.versioning is versioning
    assert spec.storage.force_destroy is (environment == "dev")
    assert spec.storage.access_logging is (environment == "prod")
    assert spec.network.availability_zones == zones
    assert spec.training is not None and spec.training.gpu_pools[0].spot is spot
    assert spec.training.gpu_pools[0].min_nodes == 0
    assert spec.serving is not None and spec.serving.endpoints[0].min_replicas == min_replicas


def test_an_explicit_value_beats_the_environment_default() -> None:
    spec = parse_spec(spec_data("aws", "dev", storage={"versioning": True}, deletion_protection=False))
    assert spec.storage.versioning is True


def test_default_buckets_get_environment_defaults_too() -> None:
    spec = parse_spec(spec_data("aws", "prod"))
    assert [b.name for b in spec.storage.buckets] == ["datasets", "artifacts", "models"]
    assert spec.storage.noncurrent_version_retention_days == 90


def test_environment_defaults_are_visible_in_the_json_schema() -> None:
    schema = json_schema()
    storage = schema["$defs"]["StorageSpec"]["properties"]
    assert storage["versioning"][ENV_DEFAULTS_KEY] == {"dev": False, "staging": True, "prod": True}
    assert schema["properties"]["deletion_protection"][ENV_DEFAULTS_KEY]["prod"] is True
    assert schema["additionalProperties"] is False


def test_every_field_is_described() -> None:
    schema = json_schema()
    models = [schema, *schema["$defs"].values()]
    undocumented = [
        f"{m.get('title')}.{name}" for m in models for name, prop in m.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undocumented == []


def test_spec_models_are_frozen() -> None:
    spec = parse_spec(AWS)
    with pytest.raises(Exception, match="frozen"):
        spec.name = "other"  # type: ignore[misc]


# --- properties over valid specs -----------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9]{1,10}[a-z0-9]", fullmatch=True)


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    cloud = draw(st.sampled_from(catalog.CLOUDS))
    environment = draw(st.sampled_from(["dev", "staging", "prod"]))
    pools = []
    for index, accelerator in enumerate(draw(st.lists(st.sampled_from(catalog.accelerators_offered(cloud)), max_size=3))):
        low = draw(st.integers(0, 4))
        pools.append({
            "name": f"p{index}",
            "accelerator": accelerator,
            "gpus_per_node": draw(st.sampled_from(catalog.gpu_counts(cloud, accelerator))),
            "min_nodes": low,
            "max_nodes": draw(st.integers(max(low, 1), 16)),
        })
    buckets = [{"name": n} for n in draw(st.lists(names, unique=True, max_size=4))] or [{"name": "data"}]
    return {
        "name": draw(names),
        "environment": environment,
        "cloud": cloud,
        "region": draw(st.sampled_from(catalog.REGIONS[cloud])),
        "storage": {"buckets": buckets},
        "training": {"gpu_pools": pools},
    }


@settings(max_examples=150, deadline=None)
@given(valid_specs())
def test_valid_specs_parse_and_every_pool_maps_to_a_catalogue_machine(data: dict[str, Any]) -> None:
    spec = parse_spec(data)
    assert spec.training is not None
    for pool in spec.training.gpu_pools:
        shape = catalog.gpu_shape(spec.cloud, pool.accelerator, pool.gpus_per_node)
        assert shape.gpus == pool.gpus_per_node and shape.usd_per_hour > 0
        assert pool.min_nodes <= pool.max_nodes
    assert spec.deletion_protection is (spec.environment == "prod")


@settings(max_examples=100, deadline=None)
@given(valid_specs())
def test_a_parsed_spec_round_trips_through_its_own_dump(data: dict[str, Any]) -> None:
    spec = parse_spec(data)
    assert PlatformSpec.model_validate(spec.model_dump()) == spec


@settings(max_examples=100, deadline=None)
@given(valid_specs(), st.integers(1, 50))
def test_min_above_max_always_fails_on_the_pool_field(data: dict[str, Any], extra: int) -> None:
    if not data["training"]["gpu_pools"]:
        return
    pool = data["training"]["gpu_pools"][0]
    pool["min_nodes"] = pool["max_nodes"] + extra
    assert any(line.startswith("training.gpu_pools[0].min_nodes: must be <= max_nodes") for line in problems_of(data))
