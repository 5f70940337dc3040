"""`mlfabric cost`: monthly estimates from the offline plan, checked against figures worked out by hand.

Hand arithmetic uses the list prices of components/<cloud>/prices.json (us-east-1 unless a test says
otherwise) and 730 hours a month: e.g. a g4dn.xlarge node is $0.526/h x 730 = $383.98 a month; a
spot g6.xlarge is on-demand x 0.45, the high end of the g6 spot ratio (0.35-0.45) in the price file.

What these tests cannot prove: that the list prices are current (they are dated and sourced; the
README says to verify before budgeting) or what usage-based charges a deployment will add.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlfabric.components import prices
from mlfabric.cost import Estimate, LineItem, cost_summary_line, estimate, inventory
from mlfabric.plan import Plan
from tests.helpers import ROOT, plan

HOURS = 730
PUBLIC_IMAGE = "public.ecr.aws/example/scorer:1.0"


def item(result: Estimate, name: str) -> LineItem:
    [found] = [i for i in result.items if i.item == name]
    return found


def small_spec(**traffic: Any) -> dict[str, Any]:
    return {
        "training": {
            "cluster": {"system_pool": {"machine": "m6i.large", "min_nodes": 1, "max_nodes": 2}},
            "gpu_pools": [
                {"name": "t4", "accelerator": "t4", "min_nodes": 1, "max_nodes": 3, "spot": False, "disk_gib": 100},
                {"name": "l4", "accelerator": "l4", "min_nodes": 0, "max_nodes": 2, "spot": True},
            ],
        },
        "registry": {"models": ["fraud-model"]},
        "serving": {"endpoints": [{
            "name": "scorer", "model": "fraud-model", "image": PUBLIC_IMAGE, "instance": "ml.g4dn.xlarge",
            "min_replicas": 1, "max_replicas": 2, "traffic": traffic or {"strategy": "canary"},
        }]},
    }


@pytest.fixture(scope="module")
def small() -> Estimate:
    return estimate(plan("aws", "dev", **small_spec(challenger={"image": PUBLIC_IMAGE, "percent": 10})))


def test_node_pools_cost_min_nodes_idle_and_max_nodes_at_full_scale(small: Estimate) -> None:
    system = item(small, "system nodes (m6i.large on-demand)")
    assert (system.idle_units, system.full_units) == (1, 2)
    assert system.idle_usd == pytest.approx(0.096 * HOURS)             # $70.08
    assert system.full_usd == pytest.approx(2 * 0.096 * HOURS)         # $140.16
    t4 = item(small, "GPU pool t4 (g4dn.xlarge on-demand)")
    assert t4.idle_usd == pytest.approx(383.98)                        # 1 x $0.526 x 730
    assert t4.full_usd == pytest.approx(1151.94)                       # 3 x $0.526 x 730
    disks = item(small, "GPU pool t4 boot disks (100 GiB per node)")
    assert disks.idle_usd == pytest.approx(8.0)                        # 100 GiB x $0.08 a GiB-month
    assert disks.full_usd == pytest.approx(24.0)


def test_spot_pools_are_priced_at_their_familys_spot_ratio_from_the_price_file(small: Estimate) -> None:
    l4 = item(small, "GPU pool l4 (g6.xlarge spot)")
    ratio = prices.spot_ratio("aws", "g6.xlarge")
    assert (ratio.family, ratio.low, ratio.high) == ("g6", 0.35, 0.45)
    assert l4.usd_per_unit_month == pytest.approx(0.8048 * 0.45 * HOURS)  # $264.38 a node-month
    assert l4.usd_range == pytest.approx((205.63, 264.38))
    assert l4.idle_usd == 0
    assert l4.full_usd == pytest.approx(2 * 264.3768)
    assert l4.note == "spot: on-demand x 0.35-0.45, priced at 0.45"


def test_every_endpoint_variant_is_a_fleet_of_its_own(small: Estimate) -> None:
    for variant in ("main", "challenger"):
        line = item(small, f"endpoint scorer: {variant} (ml.g4dn.xlarge)")
        assert line.gpu
        assert line.idle_usd == pytest.approx(537.572)                 # 1 x $0.7364 x 730
        assert line.full_usd == pytest.approx(1075.144)                # 2 x $0.7364 x 730


def test_gpu_totals_idle_and_at_full_scale(small: Estimate) -> None:
    assert small.idle_gpu_usd == pytest.approx(383.98 + 2 * 537.572)
    assert small.full_gpu_usd == pytest.approx(1151.94 + 2 * 264.3768 + 2 * 1075.144)


def test_fixed_infrastructure_is_counted_from_the_plan(small: Estimate) -> None:
    assert item(small, "EKS control plane").idle_usd == pytest.approx(73.0)
    nat = item(small, "NAT gateways")
    assert (nat.component, nat.idle_units) == ("network", 1)           # dev: a single NAT gateway
    assert nat.idle_usd == pytest.approx(32.85)
    assert item(small, "public IPv4 addresses").idle_usd == pytest.approx(3.65)
    assert small.idle_usd == pytest.approx(sum(i.idle_usd for i in small.items))
    assert small.full_usd > small.idle_usd


def test_a_shadow_variant_is_priced_like_a_production_one() -> None:
    result = estimate(plan("aws", "dev", **small_spec(shadow={"image": PUBLIC_IMAGE, "percent": 20})))
    assert {i.item for i in result.items if i.component == "serving" and i.unit == "replica"} == {
        "endpoint scorer: main (ml.g4dn.xlarge)", "endpoint scorer: shadow (ml.g4dn.xlarge)"}


def test_a_storage_only_aws_stack_costs_its_keys_and_dashboard() -> None:
    result = estimate(plan("aws", "dev"))
    # storage key $1 + monitoring key $1 + dashboard $3; no cluster, no network, no endpoints.
    assert [(i.component, i.item, i.idle_usd) for i in result.items] == [
        ("storage", "KMS keys", 1.0), ("monitoring", "CloudWatch dashboards", 3.0), ("monitoring", "KMS keys", 1.0)]
    assert (result.idle_usd, result.full_usd) == (5.0, 5.0)


def test_the_dev_stack_shows_no_idle_gpu_spend() -> None:
    result = estimate(_stack_plan("dev"))
    assert result.idle_gpu_usd == 0
    assert result.full_gpu_usd == pytest.approx(4 * 0.8048 * 0.45 * HOURS)  # 4 spot g6.xlarge at full scale
    assert result.idle_usd > 0


def test_the_prod_inventory_is_read_from_the_plans_registrations() -> None:
    found = inventory(_stack_plan("prod"))
    assert sorted((p.name, p.machine, p.min_nodes, p.max_nodes, p.spot) for p in found.pools) == [
        ("a100", "p4de.24xlarge", 0, 4, False), ("l4", "g6.xlarge", 0, 8, True), ("system", "m6i.large", 2, 4, False)]
    [endpoint] = found.endpoints
    assert (endpoint.physical, [(v.name, v.instance, v.min_replicas, v.max_replicas) for v in endpoint.variants]) == (
        "fraud-prod-scorer", [("main", "ml.g5.xlarge", 2, 8)])
    assert [(c.name, c.version) for c in found.clusters] == [("fraud-prod", "1.35")]


def test_prod_counts_a_nat_gateway_and_interface_endpoints_per_zone() -> None:
    result = estimate(_stack_plan("prod"))
    assert item(result, "NAT gateways").idle_units == 3
    endpoints = item(result, "interface VPC endpoints")
    assert endpoints.idle_units == 9                                   # ECR api, ECR dkr, STS x 3 zones
    assert endpoints.idle_usd == pytest.approx(9 * 0.01 * HOURS)


@pytest.mark.parametrize(("cloud", "key_type", "usd_per_key"),
                         [("gcp", "gcp:kms/cryptoKey:CryptoKey", 0.06), ("azure", "azure-native:keyvault:Key", 0.0)])
def test_minimal_stacks_on_other_clouds_cost_the_keys_their_plans_declare(
    cloud: str, key_type: str, usd_per_key: float,
) -> None:
    minimal = plan(cloud, "dev")
    result = estimate(minimal)
    # GCP: $0.06 per active Cloud KMS key version; Azure: software Key Vault keys bill per operation.
    keys = len(minimal.of_type(key_type))
    assert keys >= 1
    assert result.idle_usd == pytest.approx(keys * usd_per_key)
    assert result.full_usd == pytest.approx(keys * usd_per_key)


@pytest.mark.parametrize("stack", ["gcp-dev", "azure-dev"])
def test_every_example_stack_is_estimated_with_sources(stack: str) -> None:
    result = estimate(_stack_plan(stack))
    assert result.full_usd >= result.idle_usd >= 0
    assert all(i.source and i.as_of for i in result.items if i.priced)


def test_an_instance_without_a_list_price_is_named_not_guessed() -> None:
    spec = small_spec()
    spec["serving"]["endpoints"][0] = {**spec["serving"]["endpoints"][0], "instance": None, "accelerator": "l4"}
    result = estimate(plan("aws", "dev", **spec))
    line = item(result, "endpoint scorer: main (ml.g6.xlarge)")
    assert not line.priced and line.usd_per_unit_month is None
    assert line.note == "no us-east-1 price for ml.g6.xlarge in components/aws/prices.json"
    assert any(n.startswith("unpriced: endpoint scorer: main (ml.g6.xlarge)") for n in result.notes)
    assert (result.complete, result.completeness()) == (False, "incomplete (1 item unpriced)")
    assert cost_summary_line(plan("aws", "dev", **spec)).endswith(
        "; incomplete (1 item unpriced); `mlfabric cost` itemises")


def test_prices_are_looked_up_for_the_stacks_region_and_never_borrowed_from_another() -> None:
    west = estimate(plan("aws", "dev", region="us-west-2", **small_spec()))
    assert west.complete
    assert item(west, "GPU pool t4 (g4dn.xlarge on-demand)").source.endswith("(us-west-2)")
    ireland = estimate(plan("aws", "dev", region="eu-west-1", **small_spec()))
    t4 = item(ireland, "GPU pool t4 (g4dn.xlarge on-demand)")
    assert not t4.priced
    assert t4.note == "no eu-west-1 price for g4dn.xlarge in components/aws/prices.json (priced for us-east-1, us-west-2)"
    assert not ireland.complete


def test_the_summary_line_for_mlfabric_plan() -> None:
    line = cost_summary_line(_stack_plan("dev"))
    assert re.fullmatch(r"cost: \$[\d,]+\.\d\d/month idle, \$[\d,]+\.\d\d/month at full scale \(ceiling\) "
                        r"\(GPU \$0\.00 idle\) — aws list prices us-east-1 \d{4}-\d\d-\d\d; `mlfabric cost` itemises",
                        line), line


def test_spec_derived_inventories_use_the_defaults_the_components_declare() -> None:
    from mlfabric.components.azure import cluster as azure_cluster
    from mlfabric.components.azure import cost_inventory as azure_costs
    from mlfabric.components.azure import serving as azure_serving
    from mlfabric.components.gcp import cluster as gcp_cluster
    from mlfabric.components.gcp import cost_inventory as gcp_costs
    from mlfabric.components.gcp import serving as gcp_serving

    # AWS reads pools (by their mlfabric.dev/gpu-pool label), endpoints and disks from the plan: see
    # test_the_prod_inventory_is_read_from_the_plans_registrations.
    assert (gcp_costs.DEFAULT_SERVING_INSTANCE, gcp_costs.SYSTEM_DISK_GIB) == (
        gcp_serving.DEFAULT_CPU_MACHINE, gcp_cluster.SYSTEM_DISK_GIB)
    assert (azure_costs.DEFAULT_SERVING_INSTANCE, azure_costs.SYSTEM_DISK_GIB) == (
        azure_serving.DEFAULT_CPU_INSTANCE, azure_cluster.SYSTEM_DISK_GIB)


# --- the CLI ---------------------------------------------------------------------------------------


def mlfabric(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlfabric", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, check=False)


def test_cost_json_itemises_with_sources_and_dates(tmp_path: Path) -> None:
    out = tmp_path / "cost.json"
    result = mlfabric("cost", "-s", "dev", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "total" in result.stdout and "https://aws.amazon.com/ec2/pricing/on-demand/" in result.stdout
    document = json.loads(out.read_text())
    assert (document["format"], document["stack"], document["hours_per_month"]) == ("mlfabric-cost/1", "dev", 730)
    assert document["totals"]["idle_gpu_usd_per_month"] == 0
    assert document["totals"]["full_gpu_usd_per_month"] == pytest.approx(1057.51)   # 4 x 0.8048 x 0.45 x 730
    assert (document["complete"], document["totals"]["status"]) == (True, "complete")
    # every priced item names its source and date (catalogue prices, or the version calendar's control-plane rate)
    assert all(i["source"] and re.match(r"^\d{4}-\d{2}", i["as_of"]) for i in document["items"] if i["usd_per_unit_month"])
    components = {i["component"] for i in document["items"]}
    assert {"network", "cluster", "serving", "storage", "monitoring"} <= components


def test_cost_of_a_missing_stack_is_a_usage_error() -> None:
    result = mlfabric("cost", "-s", "nope", "--json", "-")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("stack 'nope': no stack file")


_PLANS: dict[str, Plan] = {}


def _stack_plan(stack: str) -> Plan:
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    if stack not in _PLANS:
        _PLANS[stack] = plan_stack(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml"))
    return _PLANS[stack]


def test_gcp_pools_are_read_from_the_plans_node_pools() -> None:
    result = estimate(plan("gcp", "dev", training={"gpu_pools": [{"name": "l4", "accelerator": "l4", "max_nodes": 2}]}))
    system = item(result, "system nodes (e2-standard-4 on-demand)")
    assert system.idle_usd == pytest.approx(0.134 * HOURS)           # dev: 1 system node
    l4 = item(result, "GPU pool l4 (g2-standard-4 spot)")
    assert (l4.idle_units, l4.full_units) == (0, 2)
    assert l4.full_usd == pytest.approx(2 * 0.7068 * 0.57 * HOURS)   # GCP GPU spot: 0.52-0.57 of on-demand
    assert result.idle_gpu_usd == 0


def test_cost_policy_config_starts_from_the_checkouts_config_first(tmp_path: Path) -> None:
    """`cost --policy-config` reads the environment's config where `check` does: the checkout's
    policies/config, else the installed pack's."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    (tmp_path / "policies" / "config").mkdir(parents=True)
    config = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    (tmp_path / "policies" / "config" / "dev.json").write_text(json.dumps({**config, "mlf-kms-key-rotation": "disabled"}))
    out = tmp_path / "out.json"
    result = subprocess.run([sys.executable, "-m", "mlfabric", "cost", "-s", "dev", "--policy-config", str(out),
                             "--format", "json"], cwd=tmp_path, capture_output=True, text=True, timeout=180,
                            check=False)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["mlf-kms-key-rotation"] == "disabled"            # the checkout's file
    assert json.loads((ROOT / "policies" / "config" / "dev.json").read_text()).get("mlf-kms-key-rotation") != "disabled"
    assert "mlf-cost-budget" in document


@pytest.mark.parametrize("compare", [False, True], ids=["estimate", "comparison"])
def test_cost_format_markdown_prints_the_markdown_modules_rendering(
    compare: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from mlfabric import markdown
    from mlfabric.cli import app
    from mlfabric.cost import Comparison

    def fake_estimate(result: Estimate) -> str:
        return f"| estimate | {result.stack} |"

    def fake_comparison(comparison: Comparison) -> str:
        return f"| delta | {comparison.new.stack} |"

    monkeypatch.setattr(markdown, "cost_markdown", fake_estimate)
    monkeypatch.setattr(markdown, "comparison_markdown", fake_comparison)
    args = ["cost", "-s", "dev", "--format", "markdown"]
    if compare:
        old = tmp_path / "old.json"
        old.write_text(CliRunner().invoke(app, ["cost", "-s", "dev", "--format", "json"]).stdout)
        args += ["--compare", str(old)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ("| delta | dev |\n" if compare else "| estimate | dev |\n")


# --- teams: GPU ceilings per team (issue 16) ---------------------------------------------------------


def test_each_team_s_gpu_ceiling_is_its_quota_plus_what_it_may_borrow_priced_per_gpu() -> None:
    from mlfabric import stackfile
    from mlfabric.cost import TeamCeiling
    from mlfabric.plan import plan_stack

    result = estimate(plan_stack(stackfile.load(stackfile.resolve("prod", None))))
    by_key = {(c.team, c.pool): c for c in result.team_ceilings}
    # prod: a100 = 4 x p4de.24xlarge (8 GPUs each) = 32; l4 = 8 x g6.xlarge (1 GPU, spot) = 8
    assert {k: (c.guaranteed_gpus, c.ceiling_gpus) for k, c in by_key.items()} == {
        ("vision", "a100"): (16, 24),   # borrow_gpus: 8
        ("vision", "l4"): (4, 8),       # no limit: the whole pool
        ("fraud", "a100"): (8, 32),     # no limit: the whole pool
        ("fraud", "l4"): (4, 4),        # borrow_gpus: 0
    }
    node = prices.machine_price("aws", "p4de.24xlarge", "us-east-1")
    assert node is not None
    assert by_key[("vision", "a100")] == TeamCeiling("vision", "a100", 16, 24, round(node.usd_per_month * 24 / 8, 2))
    # A ceiling is part of the pool's full-scale figure: the totals do not change with teams.
    pools = sum(i.full_usd for i in result.items if i.gpu)
    assert result.full_gpu_usd == pools
    assert any(n.startswith("team vision: up to a100 24 (16 guaranteed), l4 8 (4 guaranteed) GPUs") for n in result.notes)
    assert json.loads(json.dumps(result.to_json()))["team_ceilings"][0]["team"] == "fraud"  # queues by name
