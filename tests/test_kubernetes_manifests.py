"""Every Kubernetes object mlfabric declares, and every manifest in examples/, is valid for the
cluster it is meant for: built-in kinds against Kubernetes' own OpenAPI schemas of the cluster's
minor version (kubernetes-validate, strict: an unknown field fails), Kueue and JobSet kinds against
the CRD schemas of the pinned releases (tests/crd_schemas, each with its source)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from mlfabric import stackfile
from mlfabric.components.kubernetes import queueing
from mlfabric.plan import Plan, plan_stack
from tests.helpers import ROOT

CRD_SCHEMAS = ROOT / "tests" / "crd_schemas"
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))
STACKS_WITH_CLUSTERS = ("dev", "prod", "gcp-dev", "gcp-prod", "azure-dev", "azure-prod")
# Helm charts are expanded by the provider at deploy time: their objects are the charts' own, not ours.
NOT_MANIFESTS = ("kubernetes:helm.sh/", "pulumi:providers:")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    """``pattern`` as jsonschema checks it, except for the few CRD patterns written in Go's regex
    dialect that Python cannot compile: those are not evaluated (the API server evaluates them)."""
    try:
        re.compile(pattern)
    except re.error:
        return
    yield from jsonschema.Draft7Validator.VALIDATORS["pattern"](validator, pattern, instance, schema)


CrdValidator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern})


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the CRD's openAPIV3Schema."""
    found = {}
    for path in CRD_SCHEMAS.glob("*.json"):
        document = json.loads(path.read_text())
        found[(f"{document['group']}/{document['version']}", document["kind"])] = document["openAPIV3Schema"]
    return found


def problems(manifest: dict[str, Any], kubernetes_version: str) -> list[str]:
    """What is wrong with a manifest for a cluster of ``kubernetes_version`` (empty: valid)."""
    key = (manifest["apiVersion"], manifest["kind"])
    if key in crd_schemas():
        validator = CrdValidator(crd_schemas()[key])
        return [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]
    try:
        kubernetes_validate.validate(manifest, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(str(p) for p in error.path)}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {manifest['apiVersion']} {manifest['kind']} (a custom resource needs its CRD "
                "schema in tests/crd_schemas)"]
    return []


@functools.cache
def example_plan(stack: str) -> Plan:
    return plan_stack(stackfile.load(stackfile.resolve(stack, None)))


def declared_manifests(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """(logical name, manifest) of every Kubernetes object the plan declares."""
    return [
        (record.name, {k: v for k, v in record.inputs.items() if v is not None})
        for record in plan.custom_resources
        if record.type.startswith("kubernetes:") and not record.type.startswith(NOT_MANIFESTS)
    ]


def test_the_committed_crd_schemas_are_the_pinned_releases() -> None:
    pinned = queueing.releases()
    for path in CRD_SCHEMAS.glob("*.json"):
        document = json.loads(path.read_text())
        project = "kueue" if document["group"] == "kueue.x-k8s.io" else "jobset"
        assert document["ref"] == f"v{pinned[project].version}", path.name
        assert document["source"].startswith(f"https://github.com/kubernetes-sigs/{project}/blob/"), path.name
    assert {kind for _, kind in crd_schemas()} >= {"ClusterQueue", "LocalQueue", "ResourceFlavor", "JobSet"}


def test_the_validator_catches_a_wrong_manifest() -> None:
    """The checks can fail: a misspelt field of a built-in kind, and a ClusterQueue without flavors' names."""
    bad_quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
                 "spec": {"hardd": {"requests.nvidia.com/gpu": "8"}}}
    assert problems(bad_quota, "1.35")
    bad_queue = {"apiVersion": queueing.kueue_api(), "kind": "ClusterQueue", "metadata": {"name": "q"},
                 "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"resources": []}]}]}}
    assert problems(bad_queue, "1.35")


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_every_example_manifest_is_valid_for_every_cluster_version_mlfabric_pins(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents, path
    versions = {example_plan(stack).spec.training.cluster.version  # type: ignore[union-attr]
                for stack in ("prod", "gcp-prod", "azure-prod")}
    for document in documents:
        for version in sorted(versions):
            assert problems(document, version) == [], f"{path.name} ({document['kind']}) on {version}"


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_every_example_job_names_a_queue_and_runs_as_its_team(path: Path) -> None:
    for document in (d for d in yaml.safe_load_all(path.read_text()) if d):
        namespace = document["metadata"]["namespace"]
        assert namespace.startswith("team-")
        team = namespace.removeprefix("team-")
        assert document["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == team
        pod = (document["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]
               if document["kind"] == "JobSet" else document["spec"]["template"])
        assert pod["spec"]["serviceAccountName"] == team


@pytest.mark.parametrize("stack", STACKS_WITH_CLUSTERS)
def test_every_kubernetes_object_a_stack_declares_is_valid_for_its_cluster_version(stack: str) -> None:
    plan = example_plan(stack)
    assert plan.spec.training is not None
    manifests = declared_manifests(plan)
    assert manifests, f"{stack} declares no Kubernetes object"
    found = {name: problems(manifest, plan.spec.training.cluster.version) for name, manifest in manifests}
    assert {name: p for name, p in found.items() if p} == {}
