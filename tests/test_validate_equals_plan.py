"""``validate`` refuses everything ``plan`` refuses, with the same lines, every problem at once.

The corpus holds specs that plans used to refuse only while the program ran (a component raising),
specs the cloud or the engine would refuse after a clean offline verdict, and the new cloud-neutral
rules. Each must fail ``validate`` naming the field, and ``plan`` with exactly the same lines.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from mlfabric.cli import app
from tests.helpers import spec_data

AWS_ROLE = "arn:aws:iam::123456789012:role/Data"
TRAINING_AWS = {"gpu_pools": [{"name": "train", "accelerator": "a10g"}]}
REGISTRY = {"repositories": ["serve"], "models": ["fraud"]}


def _endpoint(**extra: Any) -> dict[str, Any]:
    return {"name": "scorer", "model": "fraud", "image": "serve:1.0", **extra}


def _spec(cloud: str, **sections: Any) -> dict[str, Any]:
    return spec_data(cloud, "staging", **sections)


def _serving(cloud: str, **endpoint: Any) -> dict[str, Any]:
    return _spec(cloud, registry=REGISTRY, serving={"endpoints": [_endpoint(**endpoint)]})


def _tags(count: int) -> dict[str, str]:
    return {f"team{i}": "x" for i in range(count)}


# (id, spec, a field path every refusal line set must name)
CORPUS: list[tuple[str, dict[str, Any], str]] = [
    # --- AWS ---
    ("eks one zone", _spec("aws", network={"availability_zones": 1}, training=TRAINING_AWS), "network.availability_zones"),
    ("sagemaker challenger and shadow", _serving("aws", traffic={"challenger": {"image": "serve:2", "percent": 10},
                                                                  "shadow": {"image": "serve:3", "percent": 10}}),
     "serving.endpoints[0].traffic.shadow"),
    ("sagemaker bake over an hour", _serving("aws", traffic={"bake_minutes": 61}), "serving.endpoints[0].traffic.bake_minutes"),
    ("capture without artifacts bucket", {**_serving("aws", data_capture_percent=10), "storage": {"buckets": [{"name": "data"}]}},
     "serving.endpoints[0].data_capture_percent"),
    ("cloudwatch retention", _spec("aws", monitoring={"log_retention_days": 45}), "monitoring.log_retention_days"),
    ("aws principal not an arn", _spec("aws", rbac={"personas": {"data-scientist": ["alice"]}}), "rbac.personas.data-scientist[0]"),
    ("eks version nobody offers", _spec("aws", training={"cluster": {"kubernetes_version": "1.99"}}), "training.cluster.kubernetes_version"),
    ("eks version long ended", _spec("aws", training={"cluster": {"kubernetes_version": "1.20"}}), "training.cluster.kubernetes_version"),
    ("gcp machine on aws", _spec("aws", training={"cluster": {"system_pool": {"machine": "n2-standard-4"}}}),
     "training.cluster.system_pool.machine"),
    ("nonsense sagemaker instance", _serving("aws", instance="ml.nonsense.9xlarge"), "serving.endpoints[0].instance"),
    ("nul byte in a machine", _spec("aws", training={"cluster": {"system_pool": {"machine": "m6i.la\x00rge"}}}),
     "training.cluster.system_pool.machine"),
    ("100k-character machine", _spec("aws", training={"cluster": {"system_pool": {"machine": "m" * 100_000}}}),
     "training.cluster.system_pool.machine"),
    ("aws network id not a vpc id", _spec("aws", network={"existing_network_id": "my-vpc"}), "network.existing_network_id"),
    ("60 tags on aws", _spec("aws", tags=_tags(60)), "tags"),
    ("image without tag", _serving("aws", image="serve"), "serving.endpoints[0].image"),
    ("duplicate notify target", _spec("aws", monitoring={"notify": ["a@example.com", "a@example.com"]}), "monitoring.notify[1]"),
    ("unsold gpu count", _spec("aws", training={"gpu_pools": [{"name": "big", "accelerator": "h100-80gb", "gpus_per_node": 3}]}),
     "training.gpu_pools[0].gpus_per_node"),
    # --- GCP ---
    ("t4 on cloud run", _serving("gcp", accelerator="t4"), "serving.endpoints[0]"),
    ("shadow on cloud run", _serving("gcp", traffic={"shadow": {"image": "serve:2", "percent": 10}}),
     "serving.endpoints[0].traffic.shadow"),
    ("gcp network id", _spec("gcp", network={"existing_network_id": "projects/Bad Project/networks/x y"}), "network.existing_network_id"),
    ("aws machine on gcp", _spec("gcp", training={"cluster": {"system_pool": {"machine": "m6i.large"}}}),
     "training.cluster.system_pool.machine"),
    ("70 labels on gcp", _spec("gcp", tags=_tags(70)), "tags"),
    ("gke version nobody offers", _spec("gcp", training={"cluster": {"kubernetes_version": "1.99"}}),
     "training.cluster.kubernetes_version"),
    ("gcp principal without a kind", _spec("gcp", rbac={"personas": {"data-scientist": ["alice@example.com"]}}),
     "rbac.personas.data-scientist[0]"),
    ("a gcp label value too long", _spec("gcp", tags={"team": "x" * 64}), "tags"),
    # --- Azure ---
    ("azure shadow above half", _serving("azure", traffic={"shadow": {"image": "serve:2", "percent": 60}}),
     "serving.endpoints[0].traffic.shadow"),
    ("aws size on azure", _spec("azure", training={"cluster": {"system_pool": {"machine": "m6i.large"}}}),
     "training.cluster.system_pool.machine"),
    ("azure network id", _spec("azure", network={"existing_network_id": "my-vnet"}), "network.existing_network_id"),
    ("log analytics retention", _spec("azure", monitoring={"log_retention_days": 3}), "monitoring.log_retention_days"),
    ("azure principal not a guid", _spec("azure", rbac={"personas": {"data-scientist": ["alice"]}}),
     "rbac.personas.data-scientist[0]"),
    ("aks version nobody offers", _spec("azure", training={"cluster": {"kubernetes_version": "1.99"}}),
     "training.cluster.kubernetes_version"),
    ("60 tags on azure", _spec("azure", tags=_tags(60)), "tags"),
    ("azure serving without a workspace", _spec("azure", serving={"endpoints": []}), "serving"),
    ("nonsense azure endpoint size", _serving("azure", instance="Standard_Nonsense_v9"), "serving.endpoints[0].instance"),
    # --- every cloud ---
    ("renamed onto a current name", _spec("aws", storage={"buckets": [{"name": "a-1", "renamed_from": "b-1"}, {"name": "b-1"}]}),
     "storage.buckets[0].renamed_from"),
    ("undeclared persona", _spec("gcp", rbac={"personas": {"auditor": ["user:a@example.com"]}}), "rbac.personas.auditor"),
    ("custom persona named like a built-in", _spec("azure", rbac={"custom_personas": {"ml-engineer": {"access": "read"}}}),
     "rbac.custom_personas.ml-engineer"),
    ("prod image by tag outside the registry",
     spec_data("aws", "prod", registry=REGISTRY, serving={"endpoints": [_endpoint(image="ghcr.io/acme/serve:1.0")]}),
     "serving.endpoints[0].image"),
    ("registry rename of nothing", _spec("aws", registry={**REGISTRY, "renamed_from": {"other": "x-old"}}), "registry.renamed_from.other"),
    ("endpoint model not registered", _serving("gcp", model="other"), "serving.endpoints[0].model"),
    ("every problem at once", _spec("azure", tags=_tags(60), monitoring={"log_retention_days": 3},
                                     network={"existing_network_id": "my-vnet"}), "monitoring.log_retention_days"),
    ("gcp spot pool of an accelerator gcp lacks", _spec("gcp", training={"gpu_pools": [{"name": "g", "accelerator": "a10g"}]}),
     "training.gpu_pools[0].accelerator"),
]


def _cli(tmp_path: Path, command: str, spec: dict[str, Any]) -> Result:
    path = tmp_path / "Pulumi.corpus.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlfabric:platform": copy.deepcopy(spec)}}, allow_unicode=True))
    return CliRunner().invoke(app, [command, "--file", str(path)], env={"COLUMNS": "200"})


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize(("spec", "field"), [pytest.param(s, f, id=i) for i, s, f in CORPUS])
def test_validate_refuses_what_plan_refuses_with_the_same_lines(tmp_path: Path, spec: dict[str, Any], field: str) -> None:
    validated = _cli(tmp_path, "validate", spec)
    planned = _cli(tmp_path, "plan", spec)
    assert validated.exit_code == 2, validated.output
    assert planned.exit_code == 2, planned.output
    lines = [line for line in validated.stderr.splitlines() if line.strip()]
    assert any(line.startswith(field) for line in lines), lines
    assert [line for line in planned.stderr.splitlines() if line.strip()] == lines
    assert "Traceback" not in validated.output + planned.output
