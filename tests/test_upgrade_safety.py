"""Upgrade safety: no change may silently delete or replace a live resource of an example stack.

``tests/snapshots/<stack>.json`` holds every URN of each example stack with its identity-bearing
inputs (physical names, region, project...). A URN that disappears without an alias on its
successor, or an identity input that changes, would make ``pulumi up`` delete or replace a live
resource: the test fails and names it. After an intended change (new resources are fine and
need no update), regenerate the snapshots with one command and commit them:

    python -m mlfabric.diff --update-snapshots

What this cannot prove: that the provider would not replace a resource for a change of some other
input (replacement rules are per provider property; only a real `pulumi preview` knows them all).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlfabric.diff import (
    ResourceView,
    current_snapshot,
    diff_views,
    render,
    snapshot_problems,
    views_from_document,
)

ROOT = Path(__file__).resolve().parents[1]
STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
SNAPSHOTS = ROOT / "tests" / "snapshots"
REGENERATE = "python -m mlfabric.diff --update-snapshots"


@pytest.mark.parametrize("path", STACK_FILES, ids=[p.name for p in STACK_FILES])
def test_no_urn_of_an_example_stack_disappears_without_an_alias(path: Path) -> None:
    current = current_snapshot(path)
    committed_path = SNAPSHOTS / f"{current['stack']}.json"
    assert committed_path.is_file(), f"no snapshot for {path.name}: run `{REGENERATE}` and commit {committed_path.name}"
    problems = snapshot_problems(json.loads(committed_path.read_text()), current)
    assert not problems, (
        "this change would delete or replace live resources:\n  " + "\n  ".join(problems)
        + f"\nadd `aliases` for renames (and a CHANGELOG line); if intended, run `{REGENERATE}`"
    )


def test_every_snapshot_belongs_to_an_example_stack() -> None:
    stacks = {p.name[len("Pulumi."):-len(".yaml")] for p in STACK_FILES}
    orphans = sorted(p.stem for p in SNAPSHOTS.glob("*.json") if p.stem not in stacks)
    assert not orphans, f"snapshots without a stack file: {orphans} (run `{REGENERATE}` after deleting them)"


def _views(*entries: tuple[str, str, dict[str, Any], tuple[str, ...]]) -> dict[str, ResourceView]:
    return {urn: ResourceView(urn, type_, inputs, aliases) for urn, type_, inputs, aliases in entries}


OLD = "urn:pulumi:prod::mlfabric::mlfabric:storage:AwsStorage$aws:s3/bucket:Bucket::fraud-prod-datasets"
NEW = "urn:pulumi:prod::mlfabric::mlfabric:storage:AwsStorage$aws:s3/bucket:Bucket::fraud-prod-data"


def test_a_renamed_resource_without_an_alias_is_a_delete() -> None:
    result = diff_views(_views((OLD, "aws:s3/bucket:Bucket", {}, ())), _views((NEW, "aws:s3/bucket:Bucket", {}, ())))
    assert [v.urn for v in result.removed] == [OLD] and [v.urn for v in result.added] == [NEW]
    assert result.unsafe


def test_a_renamed_resource_with_an_alias_is_kept() -> None:
    result = diff_views(_views((OLD, "aws:s3/bucket:Bucket", {}, ())), _views((NEW, "aws:s3/bucket:Bucket", {}, (OLD,))))
    assert result.removed == [] and result.added == [] and result.aliased == [(OLD, NEW)]
    assert not result.unsafe


def test_a_changed_physical_name_is_a_replacement_but_other_inputs_are_changes() -> None:
    before = _views((OLD, "aws:s3/bucket:Bucket", {"bucket": "a", "forceDestroy": False}, ()))
    after = _views((OLD, "aws:s3/bucket:Bucket", {"bucket": "b", "forceDestroy": True}, ()))
    result = diff_views(before, after)
    assert result.replaced == {OLD: ["bucket"]}
    assert result.changed[OLD] == [("bucket", "a", "b"), ("forceDestroy", False, True)]
    text = render(result)
    assert "Replaced (identity-bearing input changed)" in text and "forceDestroy: false -> true" in text


def test_snapshots_are_read_like_plans() -> None:
    snapshot = {"format": "mlfabric-snapshot/1", "stack": "s", "source": "x",
                "resources": {OLD: {"type": "aws:s3/bucket:Bucket", "identity": {"bucket": "a"}}}}
    assert views_from_document(snapshot, "s")[OLD].identity == {"bucket": "a"}
    assert snapshot_problems(snapshot, {**snapshot, "resources": {}}) == [
        f"{OLD}: URN disappears without an alias (the live resource would be deleted/replaced)"
    ]


def test_cli_diff_shows_added_removed_and_changed(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.helpers import plan

    before, after = tmp_path / "a.json", tmp_path / "b.json"
    before.write_text(json.dumps(plan("aws", "dev").to_json(), default=str))
    after.write_text(json.dumps(plan("aws", "dev", storage={"buckets": [{"name": "datasets"}, {"name": "features"}],
                                                            "versioning": True}).to_json(), default=str))
    if not (ROOT / "mlfabric" / "cli.py").is_file():
        pytest.skip("mlfabric/cli.py not written yet")
    result = subprocess.run([sys.executable, "-m", "mlfabric", "diff", str(before), str(after)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "Deleted (URN gone, no alias)" in result.stdout and "fraud-dev-models" in result.stdout
    assert "Added" in result.stdout and "fraud-dev-features" in result.stdout
    assert "versioningConfiguration.status: \"Suspended\" -> \"Enabled\"" in result.stdout
    as_json = subprocess.run([sys.executable, "-m", "mlfabric", "diff", str(before), str(after), "--format", "json"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert json.loads(as_json.stdout)["unsafe"] is True


def test_alias_specs_from_the_sdk_become_urns_and_cover_the_renamed_subtree() -> None:
    """A component renamed with one alias keeps its children (they inherit the alias, as in the engine)."""
    import contextvars

    import pulumi
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from mlfabric.diff import alias_entries, engine_views

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            del args
            return {}, []

    class Capture(MockMonitor):
        def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
            super().__init__(mocks)
            self.seen: list[tuple[str, Any, Any]] = []

        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
            response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
            self.seen.append((response.urn, request, request.parent))
            return response

    def program() -> None:
        class Thing(pulumi.ComponentResource):
            def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
                super().__init__("mlfabric:test:Thing", name, None, opts)
                pulumi.CustomResource("aws:s3/bucket:Bucket", f"{name}-bucket", {}, pulumi.ResourceOptions(parent=self))

        Thing("new", pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old")]))

    def run() -> Capture:
        mocks = Mocks()
        monitor = Capture(mocks)
        pulumi.runtime.set_mocks(mocks, project="mlfabric", stack="test", preview=False, monitor=monitor)
        _sync_await(run_pulumi_func(program))
        return monitor

    monitor = contextvars.Context().run(run)
    after = engine_views([{"urn": urn, "type": request.type, "name": request.name, "parent": parent,
                           "aliases": alias_entries(request)} for urn, request, parent in monitor.seen])
    component = "urn:pulumi:test::mlfabric::mlfabric:test:Thing::new"
    assert "urn:pulumi:test::mlfabric::mlfabric:test:Thing$aws:s3/bucket:Bucket::new-bucket" in after
    assert after[component].aliases == ("urn:pulumi:test::mlfabric::mlfabric:test:Thing::old",)
    before = {urn: ResourceView(urn, "t", {}) for urn in (
        "urn:pulumi:test::mlfabric::mlfabric:test:Thing::old",
        "urn:pulumi:test::mlfabric::mlfabric:test:Thing$aws:s3/bucket:Bucket::old-bucket",
    )}
    result = diff_views(before, after)
    assert result.removed == [] and not result.unsafe
    assert len(result.aliased) == 2


def test_snapshot_urns_are_the_engines_not_the_mock_monitors() -> None:
    """The mock monitor qualifies a type by its immediate parent only; the engine by the whole chain."""
    snapshot = json.loads((SNAPSHOTS / "dev.json").read_text()) if (SNAPSHOTS / "dev.json").is_file() else None
    if snapshot is None:
        pytest.skip("no dev snapshot yet")
    urns = list(snapshot["resources"])
    assert not any("pulumi:pulumi:Stack$" in urn for urn in urns)
    assert any("::mlfabric:platform:MLPlatform$mlfabric:storage:AwsStorage$aws:s3/bucket:Bucket::" in urn for urn in urns)
