"""GCP fidelity: the GKE version calendar, what Compute Engine, labels and network ids allow, renames
that keep identity, and validate == plan (no GCP component raises or warns for a spec reason).

What a mock test cannot prove: that GKE offers exactly these versions in these channels today (the
calendar is dated data: a test below fails when it is more than six months old), that Compute
Engine sells every listed machine type in the platform's zones, and that the provider keeps an
auto-named bucket's name under an alias (Pulumi's autonaming reuses the name in the state; the mock
auto-names from the logical name, so the bucket test checks that no name input pins it).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

import pytest

from mlfabric.components.gcp import spec_rules
from mlfabric.components.gcp.kit import KIT, kubernetes_calendar
from mlfabric.components.gcp.machines import machine_types, nearest
from mlfabric.components.kubernetes.versions import pinned_today, today
from mlfabric.components.spec import SpecError, parse_spec, spec_notes
from mlfabric.diff import diff_views, engine_views
from mlfabric.plan import Plan, plan_spec
from tests.helpers import ROOT, spec_data

AS_OF = datetime.date(2026, 12, 1)
GCP_HOME = ROOT / "components" / "gcp"


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    return caught.value.problems


def _training(version: str | None = None, **cluster: Any) -> dict[str, Any]:
    if version is not None:
        cluster["kubernetes_version"] = version
    return {"cluster": cluster, "gpu_pools": [{"name": "l4", "accelerator": "l4"}]}


# --- D. the GKE version calendar --------------------------------------------------------------------

def test_the_kit_hands_over_the_gke_calendar_and_its_file_ships_with_the_package() -> None:
    assert KIT.kubernetes_calendar is kubernetes_calendar
    calendar = kubernetes_calendar()
    assert calendar.service == "GKE" and calendar.as_of == AS_OF
    assert calendar.source.startswith("https://cloud.google.com/kubernetes-engine/")
    assert all(r.source.startswith("https://") for r in calendar.releases)
    # pyproject's package-data "mlfabric.components" = ["*/*.json"] takes components/gcp/*.json
    assert (GCP_HOME / "kubernetes_versions.json").is_file() and (GCP_HOME / "machine_types.json").is_file()


def test_the_default_is_the_newest_version_in_standard_support_on_every_channel_on_the_as_of_date() -> None:
    calendar = kubernetes_calendar()
    assert calendar.phase(calendar.default, calendar.as_of) == "standard"
    channels = spec_rules._channels()
    everywhere = [m for m in calendar.supported(calendar.as_of)
                  if calendar.phase(m, calendar.as_of) == "standard"
                  and {"RAPID", "REGULAR", "STABLE"} <= set(channels[m])]
    assert calendar.default == everywhere[-1]


def test_a_spec_without_a_version_gets_the_default() -> None:
    with pinned_today(AS_OF):
        spec = parse_spec(spec_data("gcp", "dev", training=_training()))
    assert spec.training is not None and spec.training.cluster.version == kubernetes_calendar().default


def test_an_unknown_version_is_refused_with_the_supported_range() -> None:
    with pinned_today(AS_OF):
        problems = _problems(spec_data("gcp", "dev", training=_training("1.99")))
    assert problems == ["training.cluster.kubernetes_version: GKE does not offer this version "
                        "(supported on 2026-12-01: 1.32 to 1.36; got '1.99')"]


def test_an_ended_version_is_refused_with_the_supported_range() -> None:
    with pinned_today(AS_OF):
        problems = _problems(spec_data("gcp", "dev", training=_training("1.31")))
    assert problems == ["training.cluster.kubernetes_version: GKE support ended on 2026-10-25 "
                        "(supported on 2026-12-01: 1.32 to 1.36; got '1.31')"]


def test_a_version_in_extended_support_is_allowed_with_a_note() -> None:
    with pinned_today(AS_OF):
        spec = parse_spec(spec_data("gcp", "dev", training=_training("1.34")))
        notes = [n for n in spec_notes(spec) if n.startswith("training.cluster.")]
    assert notes == ["training.cluster.kubernetes_version: GKE 1.34 is in extended support until 2027-09-30, "
                     "billed at the extended-support rate of $0.60/h; upgrade to 1.35 (standard support)"]


def test_a_version_the_release_channel_does_not_offer_is_refused() -> None:
    with pinned_today(AS_OF):
        stable = _problems(spec_data("gcp", "dev", training=_training("1.36"), gcp={
            "project": "ml-platform-test", "release_channel": "STABLE"}))
        extended_only = _problems(spec_data("gcp", "dev", training=_training("1.33")))
    assert stable == ["training.cluster.kubernetes_version: GKE's STABLE channel offers 1.34 to 1.35 "
                      "(gcp.release_channel; the Extended channel, which keeps older versions, is not offered "
                      "by mlfabric) (got '1.36')"]
    assert extended_only[0].startswith("training.cluster.kubernetes_version: GKE's REGULAR channel offers 1.34 to 1.36")


def test_the_calendar_is_at_most_six_months_old() -> None:
    """Fails when nobody has refreshed components/gcp/kubernetes_versions.json for 183 days."""
    age = (today() - kubernetes_calendar().as_of).days
    assert age <= 183, f"components/gcp/kubernetes_versions.json is {age} days old: refresh it from the GKE release schedule"


# --- E. what the cloud will check ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["e2-standard-4", "n2-standard-8", "c3-standard-22", "g2-standard-8"])
def test_known_machine_types_are_accepted_for_the_system_pool(name: str) -> None:
    parse_spec(spec_data("gcp", "dev", training=_training(system_pool={"machine": name})))


@pytest.mark.parametrize(
    ("machine", "message"),
    [
        ("n2-standard-5", r"did you mean n2-standard-8, n2-standard-4, n2-standard-2\?|did you mean n2-standard"),
        ("m6i.large", r"(did you mean|e\.g\.)"),          # an AWS instance type
        ("Standard_D4s_v5", r"(did you mean|e\.g\.)"),    # an Azure VM size
        ("n2-standard-4\x00", r"e\.g\. e2-standard-4"),
        ("x" * 100_000, r"\(100000 characters\)"),
    ],
)
def test_unknown_machine_types_are_refused_with_the_nearest_names(machine: str, message: str) -> None:
    problems = _problems(spec_data("gcp", "dev", training=_training(system_pool={"machine": machine})))
    assert len(problems) == 1
    assert problems[0].startswith("training.cluster.system_pool.machine: not a GCP machine type mlfabric knows: ")
    assert re.search(message, problems[0]), problems[0]
    assert len(problems[0]) < 300


def test_nearest_names_are_at_most_three_known_names() -> None:
    close = nearest("n2-standrd-8")
    assert 1 <= len(close) <= 3 and close[0] == "n2-standard-8"
    assert set(close) <= set(machine_types())


def test_an_endpoint_instance_from_another_cloud_is_refused() -> None:
    data = spec_data("gcp", "dev", registry={"repositories": ["scorer"], "models": ["m1x"]},
                     serving={"endpoints": [{"name": "scorer", "model": "m1x", "image": "scorer:1.0",
                                             "instance": "ml.g5.xlarge", "traffic": {"strategy": "all-at-once"}}]})
    (problem,) = _problems(data)
    assert problem.startswith("serving.endpoints[0].instance: not a GCP machine type mlfabric knows")


def test_labels_beyond_what_gcp_takes_per_resource_are_refused() -> None:
    room = spec_rules.MAX_LABELS - len(spec_rules.MLFABRIC_LABELS)
    parse_spec(spec_data("gcp", "dev", tags={f"k{i}": "v" for i in range(room)}))
    problems = _problems(spec_data("gcp", "dev", tags={f"k{i}": "v" for i in range(room + 1)}))
    assert problems == [f"tags: GCP takes at most 64 labels per resource and mlfabric adds up to 5 of its own, "
                        f"so at most {room} tags (got {room + 1})"]


def test_label_values_longer_than_63_characters_are_refused() -> None:
    (problem,) = _problems(spec_data("gcp", "dev", tags={"team": "a" * 64}))
    assert problem.startswith("tags.team: not a valid GCP label value once lowercased")


def test_more_zones_than_gke_node_pools_span_are_refused() -> None:
    assert _problems(spec_data("gcp", "prod", network={"availability_zones": 4})) == [
        "network.availability_zones: mlfabric spreads GKE node pools over at most 3 zones of the region on GCP (got 4)"]


def test_every_gcp_problem_is_reported_at_once() -> None:
    data = spec_data(
        "gcp", "staging", tags={f"k{i}": "v" for i in range(60)},
        network={"existing_network_id": "My_VPC", "availability_zones": 5},
        training=_training("1.99", system_pool={"machine": "m6i.large"}),
        monitoring={"log_retention_days": 3653},
    )
    with pinned_today(AS_OF):
        fields = {line.split(":", 1)[0] for line in _problems(data)}
    assert {"tags", "network.existing_network_id", "network.availability_zones",
            "training.cluster.system_pool.machine", "training.cluster.kubernetes_version",
            "monitoring.log_retention_days", "network.private_endpoints"} <= fields


# --- B. validate == plan ------------------------------------------------------------------------------

def test_no_gcp_component_raises_or_warns_for_a_spec_reason() -> None:
    """Spec refusals live in spec_rules.py and capabilities.py; what remains in the components are
    internal invariants (asserts, and the cluster's need of a network the platform always builds)."""
    offenders = []
    for path in sorted(GCP_HOME.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"raise pulumi\.RunError|pulumi\.log\.warn", text)]
    assert offenders == []


# --- G. renamed_from -----------------------------------------------------------------------------------

def _renaming(buckets: list[dict[str, Any]], endpoint: dict[str, Any], pools: list[dict[str, Any]],
              registry: dict[str, Any]) -> dict[str, Any]:
    endpoint = {"model": "m1x", "image": "scorer:1.0", "accelerator": "l4", "traffic": {"strategy": "all-at-once"},
                "data_capture_percent": 0, **endpoint}
    return spec_data("gcp", "staging", storage={"buckets": buckets, "access_logging": True},
                     training={"gpu_pools": [{"accelerator": "l4", **p} for p in pools]},
                     registry={"models": ["m1x"], **registry}, serving={"endpoints": [endpoint]})


@pytest.fixture(scope="module")
def renamed() -> tuple[Plan, Plan]:
    old = plan_spec(_renaming([{"name": "raw-data"}], {"name": "scorer"}, [{"name": "l4"}],
                              {"repositories": ["scorer"]}), stack="gcp-staging")
    new = plan_spec(_renaming([{"name": "datasets", "renamed_from": "raw-data"}],
                              {"name": "ranker", "renamed_from": "scorer", "image": "serving:1.0"},
                              [{"name": "infer", "renamed_from": "l4"}],
                              {"repositories": ["serving"], "renamed_from": {"serving": ["scorer"]}}),
                    stack="gcp-staging")
    return old, new


def _views(plan: Plan) -> dict[str, Any]:
    return engine_views(dataclasses.asdict(r) for r in plan.resources)


def test_a_rename_is_aliases_not_a_delete(renamed: tuple[Plan, Plan]) -> None:
    old, new = renamed
    diff = diff_views(_views(old), _views(new))
    # The pool's Kueue ResourceFlavor is a Kubernetes object named after the pool: a renamed pool's
    # flavor is a new object (metadata.name cannot change in place); everything else is aliased.
    assert [urn.rsplit("::", 1)[1] for urn in (v.urn for v in diff.removed)] == ["fraud-staging-flavor-l4"]
    assert diff.replaced == {}
    moved = {old_urn.rsplit("::", 1)[1]: new_urn.rsplit("::", 1)[1] for old_urn, new_urn in diff.aliased}
    assert moved["fraud-staging-raw-data"] == "fraud-staging-datasets"
    assert moved["fraud-staging-scorer"] == "fraud-staging-ranker"
    assert moved["fraud-staging-scorer-runtime"] == "fraud-staging-ranker-runtime"
    assert moved["fraud-staging-scorer-p99-latency"] == "fraud-staging-ranker-p99-latency"
    assert moved["fraud-staging-gpu-l4"] == "fraud-staging-gpu-infer"
    assert moved["fraud-staging-repo-scorer"] == "fraud-staging-repo-serving"


def test_renamed_items_keep_their_physical_names(renamed: tuple[Plan, Plan]) -> None:
    old, new = renamed

    def inputs(plan: Plan, type_token: str, name: str) -> dict[str, Any]:
        (record,) = [r for r in plan.resources if r.type == type_token and r.name == name]
        return record.inputs

    run = "gcp:cloudrunv2/service:Service"
    assert inputs(new, run, "fraud-staging-ranker")["name"] == inputs(old, run, "fraud-staging-scorer")["name"]
    account = "gcp:serviceaccount/account:Account"
    assert (inputs(new, account, "fraud-staging-ranker-runtime")["accountId"]
            == inputs(old, account, "fraud-staging-scorer-runtime")["accountId"])
    pool = "gcp:container/nodePool:NodePool"
    assert inputs(new, pool, "fraud-staging-gpu-infer")["namePrefix"] == "gpu-l4-"
    repo = "gcp:artifactregistry/repository:Repository"
    assert inputs(new, repo, "fraud-staging-repo-serving")["repositoryId"] == "fraud-staging-scorer"
    bucket = "gcp:storage/bucket:Bucket"
    renamed_bucket = inputs(new, bucket, "fraud-staging-datasets")
    # no name input: the provider keeps the auto-name it gave the bucket (in the state, under the alias)
    assert "name" not in renamed_bucket and "name" not in inputs(old, bucket, "fraud-staging-raw-data")
    assert renamed_bucket["logging"]["logObjectPrefix"] == "raw-data"
