"""What a spec or code change does to a stack, resource by resource: ``mlfabric diff A.json B.json``.

Resources are matched by URN (Pulumi's identity for a resource). A URN that disappears is a delete
(and, with a new URN beside it, a replacement of a live resource) unless a resource of the new plan
lists it as an alias. Changed inputs are listed by path; a change to an identity-bearing input (a
physical name, region, project...) usually forces the provider to replace the resource and is
flagged.

Upgrade-safety snapshots (``tests/snapshots/<stack>.json``) keep each example stack's URNs and
identity-bearing inputs. Regenerate them after an intended change with one command::

    python -m mlfabric.diff --update-snapshots

``--check-snapshots`` runs the same comparison ``tests/test_upgrade_safety.py`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from mlfabric.errors import UsageError

SNAPSHOT_FORMAT: Final = "mlfabric-snapshot/1"
# Inputs that name a resource physically or place it: changing one makes the provider replace it.
IDENTITY_KEYS: Final = frozenset({
    "name", "namePrefix", "bucket", "bucketPrefix", "accountName", "vaultName", "keyName", "keyRing",
    "clusterName", "nodeGroupName", "repositoryId", "registryName", "resourceName", "resourceGroupName",
    "location", "region", "project", "endpointName", "endpointConfigName", "workspaceName", "containerName",
    "roleName", "topicName", "alarmName", "displayName", "cidrBlock", "availabilityZone", "addonName",
    "resource_name", "keyVaultName", "deploymentName", "service", "accountId", "policyName",
    "roleAssignmentName", "blobServicesName", "managementPolicyName", "scope", "principalId",
})


@dataclass(frozen=True)
class ResourceView:
    """A resource as the diff sees it: type, inputs, aliases, identity-bearing inputs."""

    urn: str
    type: str
    inputs: Mapping[str, Any]
    aliases: tuple[str, ...] = ()
    parent: str = ""
    identity_only: bool = False  # from a snapshot: only identity-bearing inputs are known

    @property
    def identity(self) -> dict[str, Any]:
        return {k: self.inputs[k] for k in sorted(self.inputs) if k in IDENTITY_KEYS}


@dataclass
class PlanDiff:
    added: list[ResourceView] = field(default_factory=list)
    removed: list[ResourceView] = field(default_factory=list)
    aliased: list[tuple[str, str]] = field(default_factory=list)  # (old urn, new urn)
    changed: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)  # urn -> (path, old, new)
    replaced: dict[str, list[str]] = field(default_factory=dict)  # urn -> identity keys that changed

    @property
    def unsafe(self) -> bool:
        """Would live resources be deleted or replaced?"""
        return bool(self.removed or self.replaced)


def views_from_document(data: Any, where: str) -> dict[str, ResourceView]:
    """URN -> view from plan JSON, a snapshot, or a `pulumi stack export`."""
    if isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT:
        return {urn: ResourceView(urn, str(r.get("type")), dict(r.get("identity") or {}), tuple(r.get("aliases") or ()),
                                  str(r.get("parent") or ""), identity_only=True)
                for urn, r in (data.get("resources") or {}).items()}
    rows: Any = None
    export = False
    if isinstance(data, dict) and isinstance(data.get("resources"), list):
        rows = data["resources"]
    elif isinstance(data, dict) and isinstance(data.get("deployment"), dict):
        rows, export = data["deployment"].get("resources"), True
    if not isinstance(rows, list):
        raise UsageError([f"{where}: not an mlfabric plan, snapshot or stack export"])
    problems = [f"{where}: resources[{i}]: needs urn and type" for i, row in enumerate(rows)
                if not isinstance(row, dict) or "urn" not in row or "type" not in row]
    if problems:
        raise UsageError(problems)
    live = [row for row in rows if not row.get("delete")]
    if not export:
        return engine_views(live)
    # A stack export already holds the engine's URNs and alias URNs.
    return {row["urn"]: ResourceView(row["urn"], row["type"], dict(row.get("inputs") or {}),
                                     tuple(str(a) for a in row.get("aliases") or ()), str(row.get("parent") or ""))
            for row in live}


def load_views(path: Path) -> dict[str, ResourceView]:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise UsageError([f"{path}: cannot read ({error.strerror})"]) from None
    except json.JSONDecodeError as error:
        raise UsageError([f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"]) from None
    return views_from_document(data, str(path))


def _changes(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        found: list[tuple[str, Any, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                found.append((sub, None, after[key]))
            elif key not in after:
                found.append((sub, before[key], None))
            else:
                found.extend(_changes(before[key], after[key], sub))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [c for i, (b, a) in enumerate(zip(before, after, strict=True)) for c in _changes(b, a, f"{path}[{i}]")]
    return [] if before == after else [(path, before, after)]


def _urn_parts(urn: str) -> tuple[str, str, str]:
    """(prefix "urn:pulumi:stack::project", qualified type, name) of a URN."""
    prefix, qualified, name = urn.rsplit("::", 2)
    return prefix, qualified, name


def make_urn(prefix: str, type_: str, name: str, parent_urn: str = "") -> str:
    """A URN as the engine builds it: a child's type is qualified by its parent's whole qualified type
    (the root stack excluded), e.g. ``mlfabric:platform:MLPlatform$mlfabric:storage:AwsStorage$aws:s3/bucket:Bucket``.
    """
    qualified = type_
    if parent_urn:
        _, parent_qualified, _ = _urn_parts(parent_urn)
        if parent_qualified != "pulumi:pulumi:Stack":
            qualified = f"{parent_qualified}${type_}"
    return f"{prefix}::{qualified}::{name}"


def alias_entries(request: Any) -> list[dict[str, Any]]:
    """A RegisterResource request's aliases as plain data, for ``ResourceRecord.aliases``.

    For mlfabric.plan's RecordingMonitor: ``aliases=alias_entries(request)``. Each entry is
    ``{"urn": ...}`` or ``{"spec": {name, type, stack, project, parentUrn | noParent}}``; the diff
    resolves them to the engine's URNs.
    """
    entries: list[dict[str, Any]] = []
    for alias in getattr(request, "aliases", []) or []:
        if alias.WhichOneof("alias") == "urn":
            entries.append({"urn": alias.urn})
            continue
        spec = alias.spec
        fields = {k: getattr(spec, k) for k in ("name", "type", "stack", "project") if getattr(spec, k)}
        parent = spec.WhichOneof("parent")
        if parent == "noParent":
            fields["noParent"] = True
        elif parent == "parentUrn":
            fields["parentUrn"] = spec.parentUrn
        entries.append({"spec": fields})
    return entries


def engine_views(rows: Iterable[Mapping[str, Any]]) -> dict[str, ResourceView]:
    """Views keyed by the URNs the real engine gives these resources.

    Pulumi's mock monitor builds a URN from the immediate parent's type only (and counts the root
    stack as a parent), so an offline plan's URNs differ from a deployed stack's. The engine's URN is
    rebuilt here from the parent chain, so re-typing a component is seen in all its descendants —
    as it would be by ``pulumi up``. Alias specs resolve against the same chain.
    """
    rows = list(rows)
    engine: dict[str, str] = {}  # plan URN -> engine URN
    for row in rows:  # registration order: parents first
        urn, type_ = str(row["urn"]), str(row["type"])
        prefix, _, name = _urn_parts(urn)
        name = str(row.get("name") or name)
        if type_ == "pulumi:pulumi:Stack":
            engine[urn] = f"{prefix}::{type_}::{name}"
        else:
            engine[urn] = make_urn(prefix, type_, name, engine.get(str(row.get("parent") or ""), ""))
    views: dict[str, ResourceView] = {}
    for row in rows:
        urn = engine[str(row["urn"])]
        prefix, _, name = _urn_parts(urn)
        stack, _, project = prefix[len("urn:pulumi:"):].partition("::")
        parent = engine.get(str(row.get("parent") or ""), "")
        aliases: list[str] = []
        for alias in row.get("aliases") or ():
            if isinstance(alias, str):
                aliases.append(alias)
            elif isinstance(alias, Mapping) and "urn" in alias:
                aliases.append(str(alias["urn"]))
            elif isinstance(alias, Mapping) and isinstance(alias.get("spec"), Mapping):
                spec = alias["spec"]
                old_parent = "" if spec.get("noParent") else engine.get(str(spec.get("parentUrn") or ""), parent)
                if spec.get("parentUrn") and str(spec["parentUrn"]) not in engine:
                    old_parent = str(spec["parentUrn"])  # a parent that no longer exists: taken as given
                alias_prefix = f"urn:pulumi:{spec.get('stack') or stack}::{spec.get('project') or project}"
                aliases.append(make_urn(alias_prefix, str(spec.get("type") or row["type"]),
                                        str(spec.get("name") or name), old_parent))
        views[urn] = ResourceView(urn, str(row["type"]), dict(row.get("inputs") or {}), tuple(aliases), parent)
    return views


def _with_inherited_aliases(after: Mapping[str, ResourceView]) -> dict[str, str]:
    """old URN -> new URN, including the aliases children inherit from an aliased parent.

    The engine gives every child of a renamed/re-typed parent the URN it had under the parent's old
    URN (a child named after its parent is renamed along with it), so renaming a component with one
    alias keeps its whole subtree.
    """
    aliases: dict[str, list[str]] = {urn: list(view.aliases) for urn, view in after.items()}
    for urn, view in after.items():  # registration order: parents come before their children
        parent = after.get(view.parent)
        if parent is None or not aliases.get(parent.urn):
            continue
        prefix, _, name = _urn_parts(urn)
        _, _, parent_name = _urn_parts(parent.urn)
        for old_parent in aliases[parent.urn]:
            _, _, old_parent_name = _urn_parts(old_parent)
            old_name = old_parent_name + name[len(parent_name):] if name.startswith(parent_name) else name
            aliases[urn].append(make_urn(prefix, view.type, old_name, old_parent))
    return {old: urn for urn, olds in aliases.items() for old in olds}


def diff_views(before: Mapping[str, ResourceView], after: Mapping[str, ResourceView]) -> PlanDiff:
    result = PlanDiff()
    alias_of = _with_inherited_aliases(after)
    for urn, view in before.items():
        if urn in after:
            new = after[urn]
            if view.identity_only or new.identity_only:
                changes = _changes(view.identity, new.identity)
            else:
                changes = _changes(dict(view.inputs), dict(new.inputs))
            if changes:
                result.changed[urn] = changes
            identity = sorted(k for k in set(view.identity) | set(new.identity)
                              if view.identity.get(k) != new.identity.get(k))
            # An identity input that only appears (older snapshots lack it) is not a replacement.
            identity = [k for k in identity if k in view.identity]
            if identity:
                result.replaced[urn] = identity
        elif urn in alias_of:
            result.aliased.append((urn, alias_of[urn]))
        else:
            result.removed.append(view)
    aliased_targets = {new for _, new in result.aliased}
    result.added = [v for urn, v in after.items() if urn not in before and urn not in aliased_targets]
    return result


def diff_files(before: Path, after: Path) -> PlanDiff:
    return diff_views(load_views(before), load_views(after))


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 70 else text[:67] + "..."


def _label(urn: str) -> str:
    parts = urn.split("::")
    return f"{parts[-1]} ({parts[-2].rsplit('$', 1)[-1]})" if len(parts) >= 2 else urn


def render(result: PlanDiff, fmt: str = "text") -> str:
    """The diff as text, markdown (a PR comment) or JSON."""
    if fmt == "json":
        return json.dumps({
            "unsafe": result.unsafe,
            "added": [v.urn for v in result.added],
            "removed": [v.urn for v in result.removed],
            "aliased": [{"from": old, "to": new} for old, new in result.aliased],
            "replaced": result.replaced,
            "changed": {urn: [{"path": p, "before": b, "after": a} for p, b, a in changes]
                        for urn, changes in result.changed.items()},
        }, indent=2, default=str) + "\n"
    bullet = "- " if fmt == "markdown" else "  "
    code = (lambda s: f"`{s}`") if fmt == "markdown" else (lambda s: s)
    lines: list[str] = []
    heading = (lambda s: f"### {s}") if fmt == "markdown" else (lambda s: s)
    counts = (f"{len(result.added)} to add, {len(result.removed)} to delete, {len(result.replaced)} to replace, "
              f"{len(result.changed)} changed, {len(result.aliased)} renamed with an alias")
    lines.append(("**mlfabric diff:** " if fmt == "markdown" else "mlfabric diff: ") + counts)
    if result.removed:
        lines += ["", heading("Deleted (URN gone, no alias): live resources would be destroyed")]
        lines += [f"{bullet}- {code(_label(v.urn))}  {v.urn}" if fmt != "markdown" else f"{bullet}{code(v.urn)}"
                  for v in result.removed]
    if result.replaced:
        lines += ["", heading("Replaced (identity-bearing input changed)")]
        lines += [f"{bullet}{code(_label(urn))}: {', '.join(keys)}" for urn, keys in result.replaced.items()]
    if result.added:
        lines += ["", heading("Added")]
        lines += [f"{bullet}+ {code(_label(v.urn))}" if fmt != "markdown" else f"{bullet}{code(_label(v.urn))}"
                  for v in result.added]
    if result.aliased:
        lines += ["", heading("Renamed with an alias (kept, not replaced)")]
        lines += [f"{bullet}{code(_label(old))} -> {code(_label(new))}" for old, new in result.aliased]
    if result.changed:
        lines += ["", heading("Changed inputs")]
        for urn, changes in result.changed.items():
            lines.append(f"{bullet}~ {code(_label(urn))}" if fmt != "markdown" else f"{bullet}{code(_label(urn))}")
            indent = "    " if fmt != "markdown" else "  - "
            lines += [f"{indent}{p}: {_short(b)} -> {_short(a)}" for p, b, a in changes]
    return "\n".join(lines) + "\n"


def diff_command(before: Path, after: Path, output_format: str = "text") -> None:
    """Show what a change adds, removes (without alias) and changes, resource by resource (URN)."""
    from mlfabric.cli_options import fail, usage_errors

    if output_format not in ("text", "markdown", "json"):
        fail([f"--format: must be text, markdown or json (got {output_format!r})"])
    with usage_errors():
        result = diff_files(before, after)
    sys.stdout.write(render(result, output_format))


def register(app: typer.Typer) -> None:
    """Add `diff` to the mlfabric CLI."""

    @app.command("diff")
    def _diff(
        before: Annotated[Path, typer.Argument(help="Plan JSON (or snapshot/stack export) before the change.")],
        after: Annotated[Path, typer.Argument(help="Plan JSON (or snapshot/stack export) after the change.")],
        output_format: Annotated[str, typer.Option("--format", help="text, markdown or json.")] = "text",
    ) -> None:
        """Show what a change adds, removes (without alias) and changes, resource by resource (URN)."""
        diff_command(before, after, output_format)


# --- snapshots ----------------------------------------------------------------------------------------


def snapshot_of(resources: Iterable[Any], stack: str, source: str) -> dict[str, Any]:
    """A stack's URNs (as the engine forms them) with types, parents, identity-bearing inputs, aliases."""
    rows = [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs,
             "aliases": getattr(r, "aliases", None) or []} for r in resources]
    entries: dict[str, Any] = {}
    for urn, view in engine_views(rows).items():
        entry: dict[str, Any] = {"type": view.type, "identity": view.identity}
        if view.parent:
            entry["parent"] = view.parent
        if view.aliases:
            entry["aliases"] = list(view.aliases)
        entries[urn] = entry
    return {"format": SNAPSHOT_FORMAT, "stack": stack, "source": source, "resources": dict(sorted(entries.items()))}


def project_root() -> Path:
    from mlfabric import stackfile

    return stackfile.find_project_dir(Path(__file__).resolve().parent)


def snapshot_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "tests" / "snapshots"


def stack_files(root: Path | None = None) -> list[Path]:
    from mlfabric import stackfile

    return sorted(stackfile.stack_dir(root or project_root()).glob("Pulumi.*.yaml"))


def current_snapshot(path: Path) -> dict[str, Any]:
    """Plan a stack file offline and snapshot it."""
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    loaded = stackfile.load(path)
    plan = plan_stack(loaded)
    root = project_root()
    try:
        source = path.resolve().relative_to(root).as_posix()
    except ValueError:
        source = str(path)
    return snapshot_of(plan.resources, loaded.stack, source)


def snapshot_problems(committed: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Why ``current`` is not an upgrade-safe successor of ``committed`` (empty when it is)."""
    result = diff_views(views_from_document(committed, "snapshot"), views_from_document(current, "plan"))
    problems = [f"{v.urn}: URN disappears without an alias (the live resource would be deleted/replaced)"
                for v in result.removed]
    problems += [f"{urn}: identity-bearing input(s) {', '.join(keys)} changed (the provider would replace it)"
                 for urn, keys in result.replaced.items()]
    return problems


def update_snapshots(root: Path | None = None) -> list[Path]:
    directory = snapshot_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for path in stack_files(root):
        snapshot = current_snapshot(path)
        target = directory / f"{snapshot['stack']}.json"
        target.write_text(json.dumps(snapshot, indent=2, sort_keys=False, default=str) + "\n")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when every stack's snapshot is upgrade-safe (or was rewritten), 1 otherwise."""
    from mlfabric.cli_options import EXIT_FINDINGS, EXIT_OK

    parser = argparse.ArgumentParser(prog="python -m mlfabric.diff", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--update-snapshots", action="store_true", help="rewrite tests/snapshots/ from stacks/")
    group.add_argument("--check-snapshots", action="store_true", help="compare stacks/ with tests/snapshots/")
    args = parser.parse_args(argv)
    if args.update_snapshots:
        for path in update_snapshots():
            print(f"wrote {path}")
        return EXIT_OK
    failed = False
    for path in stack_files():
        snapshot = current_snapshot(path)
        committed_path = snapshot_dir() / f"{snapshot['stack']}.json"
        if not committed_path.is_file():
            print(f"{path}: no snapshot {committed_path} (run python -m mlfabric.diff --update-snapshots)")
            failed = True
            continue
        for problem in snapshot_problems(json.loads(committed_path.read_text()), snapshot):
            print(f"{snapshot['stack']}: {problem}")
            failed = True
    return EXIT_FINDINGS if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
