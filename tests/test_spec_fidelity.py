"""Cloud-neutral spec rules of the fidelity issue: renames, custom personas, principals per cloud,
image references, duplicate notify targets, the Kubernetes version default and the capability walk."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from mlfabric.components import capabilities
from mlfabric.components.capabilities import Capability, refusals, spec_fields, values_at
from mlfabric.components.catalog import CLOUDS
from mlfabric.components.kit import kit_for
from mlfabric.components.kubernetes.versions import pinned_today
from mlfabric.components.spec import PrincipalsByCloud, SpecError, parse_spec
from tests.helpers import spec_data

DIGEST = "@sha256:" + "a" * 64


def problems_of(data: Any) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    return caught.value.problems


# --- renamed_from ---------------------------------------------------------------------------------


def test_a_bucket_may_name_its_previous_names_as_a_string_or_a_list() -> None:
    one = parse_spec(spec_data(storage={"buckets": [{"name": "corpus", "renamed_from": "datasets"}]}))
    many = parse_spec(spec_data(storage={"buckets": [{"name": "corpus", "renamed_from": ["data", "datasets"]}]}))
    assert one.storage.buckets[0].renamed_from == ["datasets"]
    assert many.storage.buckets[0].renamed_from == ["data", "datasets"]


def test_an_old_name_cannot_be_a_current_name_or_claimed_twice() -> None:
    assert problems_of(spec_data(storage={"buckets": [
        {"name": "corpus", "renamed_from": "models"}, {"name": "models"},
    ]})) == ["storage.buckets[0].renamed_from: 'models' is the current name of another item; a renamed item's "
             "old name cannot be reused (got 'models')"]
    assert problems_of(spec_data(storage={"buckets": [
        {"name": "corpus", "renamed_from": "data"}, {"name": "extra", "renamed_from": "data"},
    ]})) == ["storage.buckets[1].renamed_from: 'corpus' was renamed from it already (got 'data')"]


def test_gpu_pools_and_endpoints_take_renamed_from_too() -> None:
    spec = parse_spec(spec_data(
        training={"gpu_pools": [{"name": "train", "accelerator": "a10g", "renamed_from": "gpu"}]},
        registry={"repositories": ["serve"], "models": ["fraud"]},
        serving={"endpoints": [{"name": "scorer", "model": "fraud", "image": "serve:1.27",
                                "renamed_from": "score"}]},
    ))
    assert spec.training is not None and spec.training.gpu_pools[0].renamed_from == ["gpu"]
    assert spec.serving is not None and spec.serving.endpoints[0].renamed_from == ["score"]


def test_registry_renames_must_name_one_of_its_repositories_or_models() -> None:
    spec = parse_spec(spec_data(registry={"repositories": ["serve"], "models": ["fraud"],
                                          "renamed_from": {"serve": "serving", "fraud": ["fraud-v0"]}}))
    assert spec.registry is not None and spec.registry.renamed_from == {"serve": ["serving"], "fraud": ["fraud-v0"]}
    assert problems_of(spec_data(registry={"repositories": ["serve"], "renamed_from": {"other": "x-old"}})) == [
        "registry.renamed_from.other: names no repository or model of this registry (got 'other')"]


# --- personas -------------------------------------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/Auditors"


def test_a_custom_persona_takes_the_grants_of_its_access_level() -> None:
    spec = parse_spec(spec_data(rbac={"custom_personas": {"auditor": {"access": "read"}, "release": {"access": "deploy"}},
                                      "personas": {"auditor": [ROLE], "release": [ROLE], "data-scientist": [ROLE]}}))
    assert [(g.persona, g.template) for g in spec.rbac.grants("aws")] == [
        ("auditor", "reader"), ("release", "ci-deployer"), ("data-scientist", "data-scientist")]


def test_an_undeclared_persona_or_a_custom_one_named_like_a_built_in_is_refused() -> None:
    lines = problems_of(spec_data(rbac={"custom_personas": {"ml-engineer": {"access": "admin"}},
                                        "personas": {"auditor": [ROLE]}}))
    assert lines == [
        "rbac.custom_personas.ml-engineer: is a built-in persona; choose another name (got 'ml-engineer')",
        "rbac.personas.auditor: not a persona: use one of data-scientist, ml-engineer, platform-admin, "
        "ci-deployer or declare it under rbac.custom_personas (got 'auditor')",
    ]


def test_principals_per_cloud_let_one_spec_move_between_clouds() -> None:
    personas = {"data-scientist": {"aws": [ROLE], "gcp": ["group:ds@example.com"],
                                   "azure": ["00000000-0000-0000-0000-000000000001"]}}
    for cloud in CLOUDS:
        spec = parse_spec(spec_data(cloud, rbac={"personas": personas}))
        [grant] = spec.rbac.grants(cloud)
        principals = personas["data-scientist"][cloud]
        assert isinstance(spec.rbac.personas["data-scientist"], PrincipalsByCloud)
        assert grant.principals == principals


def test_only_the_stack_clouds_principals_are_checked_and_named_by_cloud() -> None:
    lines = problems_of(spec_data("aws", rbac={"personas": {"data-scientist": {"aws": ["alice"], "gcp": ["whatever"]}}}))
    assert lines == ["rbac.personas.data-scientist.aws[0]: must be an IAM role or user ARN such as "
                     "arn:aws:iam::123456789012:role/Name (got 'alice')"]


# --- images and notify targets ---------------------------------------------------------------------


def _serving(image: str, environment: str = "dev", immutable: bool | None = None) -> dict[str, Any]:
    registry: dict[str, Any] = {"repositories": ["serve"], "models": ["fraud"]}
    if immutable is not None:
        registry["immutable_tags"] = immutable
    return spec_data("aws", environment, registry=registry,
                     serving={"endpoints": [{"name": "scorer", "model": "fraud", "image": image}]})


def test_an_image_without_tag_or_digest_is_refused() -> None:
    assert problems_of(_serving("serve")) == [
        "serving.endpoints[0].image: names no tag or digest, so the runtime would pull whatever 'latest' is: "
        "add :<tag> or @sha256:<digest> (got 'serve')"]
    assert problems_of(_serving("registry.example.com:5000/team/serve"))[0].startswith(
        "serving.endpoints[0].image: names no tag or digest")


@pytest.mark.parametrize(("image", "immutable", "ok"), [
    ("serve:1.4", True, True),                          # platform repository, immutable tags
    ("serve:1.4", False, False),                        # platform repository, tags can move
    ("registry.example.com/team/serve:1.4", True, False),  # outside the platform: a tag can move
    ("registry.example.com/team/serve" + DIGEST, False, True),
])
def test_prod_pins_images_by_digest_or_immutable_platform_tags(image: str, immutable: bool, ok: bool) -> None:
    data = _serving(image, "prod", immutable)
    if ok:
        parse_spec(data)
    else:
        assert any(line.startswith("serving.endpoints[0].image: prod pins images by digest") for line in problems_of(data))


def test_a_duplicate_notify_target_is_refused() -> None:
    assert problems_of(spec_data(monitoring={"notify": ["a@example.com", "a@example.com"]})) == [
        "monitoring.notify[1]: duplicate target (got 'a@example.com')"]


# --- Kubernetes versions ---------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_an_omitted_kubernetes_version_is_the_clouds_pinned_default(cloud: str) -> None:
    calendar = kit_for(cloud).kubernetes_calendar
    if calendar is None:
        pytest.skip(f"{cloud} has no version calendar yet")
    spec = parse_spec(spec_data(cloud, training={}))
    assert spec.training is not None and spec.training.cluster.version == calendar().default


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_version_nobody_offers_is_refused_with_the_supported_range(cloud: str) -> None:
    if kit_for(cloud).kubernetes_calendar is None:
        pytest.skip(f"{cloud} has no version calendar yet")
    with pinned_today(datetime.date(2026, 12, 1)):
        [line] = problems_of(spec_data(cloud, training={"cluster": {"kubernetes_version": "1.99"}}))
    assert line.startswith("training.cluster.kubernetes_version: ") and "does not offer this version (supported on 2026-12-01: " in line


# --- the capability walk ---------------------------------------------------------------------------


def test_spec_fields_name_every_leaf_once() -> None:
    fields = spec_fields()
    assert len(fields) == len(set(fields))
    assert "serving.endpoints[].traffic.strategy" in fields and "rbac.custom_personas" in fields
    assert not any(f.startswith(("aws", "gcp", "azure")) for f in fields)


def test_values_at_expands_lists_and_reports_paths() -> None:
    spec = parse_spec(spec_data(storage={"buckets": [{"name": "corpus"}, {"name": "models"}]}))
    assert list(values_at(spec, "storage.buckets[].name")) == [
        (("storage", "buckets", 0, "name"), "corpus"), (("storage", "buckets", 1, "name"), "models")]


def test_a_refused_row_is_an_error_and_a_protective_one_only_warns_in_dev() -> None:
    rows = (Capability("network.flow_logs", "refused", "use X", protective=True),
            Capability("storage.versioning", "refused", "use Y"))
    dev = parse_spec(spec_data("aws", "dev", network={"flow_logs": True}, storage={"versioning": True}))
    found = refusals(dev, rows)
    assert [(r.path, r.warning) for r in found] == [(("network", "flow_logs"), True), (("storage", "versioning"), False)]
    assert found[1].message == "not supported on aws: use Y (got True)"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_cloud_has_one_row_per_spec_field_and_none_for_unknown_fields(cloud: str) -> None:
    rows = kit_for(cloud).capabilities
    if not rows:
        pytest.skip(f"{cloud} has no capability table yet")
    assert capabilities.missing_rows(cloud, rows) == []
    assert capabilities.unknown_rows(cloud, rows) == []
    for row in rows:
        assert row.note, row
        assert row.status == "refused" or row.evidence is not None or row.enforced_by or row.field in IDENTITY_FIELDS, row


# Fields every resource carries by construction (names, tags, region): no single resource proves them.
IDENTITY_FIELDS = {"spec_version", "name", "environment", "cloud", "region", "tags"}
