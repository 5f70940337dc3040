"""Regenerate ``components/<cloud>/replacements.json``: which inputs make a provider replace a resource.

The installed Pulumi SDKs do not say which inputs force a replacement; the providers' own sources do.
This script reads them from local git snapshots (``fetch github:<owner>/<repo>`` puts them under
``/work/.mirror/<owner>+<repo>/repo``) and writes one row per resource type mlfabric declares, each
with the repository, path and commit it came from:

- gcp (pulumi-gcp bridges hashicorp/terraform-provider-google-beta at the commit its ``upstream``
  submodule pins): Go schemas, ``ForceNew: true`` (SDKv2) or ``RequiresReplace`` (plugin framework),
  nested blocks as dotted paths; Pulumi names from pulumi-gcp's ``bridge-metadata.json``.
- aws (pulumi-aws bridges hashicorp/terraform-provider-aws): the same Go reading, from the newest
  snapshot that fits here (Pulumi's patched fork; the row says which commit).
- azure (pulumi-azure-native): ``willReplaceOnChanges`` in an export of its schema, plus the
  provider's hand-kept ``forceNewMap`` (``provider/pkg/gen/replacement.go``) when given with ``--file``.
- kubernetes (pulumi-kubernetes): the ``forceNew`` table of ``provider/pkg/provider/diff.go``.

A type no source covers is written as ``"unknown"``: ``mlfabric diff`` then says "may be replaced
(no replacement data)" instead of guessing.

Usage::

    python scripts/refresh_replacements.py                 # plans the six example stacks first
    python scripts/refresh_replacements.py --plans DIR     # or reads DIR/<stack>.json plan files
    python scripts/refresh_replacements.py --file pulumi/pulumi-azure-native@<commit>:provider/pkg/gen/replacement.go=LOCAL
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FORMAT = "mlfabric-replacements/1"
STACKS = ("prod", "dev", "gcp-prod", "gcp-dev", "azure-prod", "azure-dev")
MIRRORS = Path("/work/.mirror")
GCP_TF = "hashicorp/terraform-provider-google-beta"
GCP_PULUMI = "pulumi/pulumi-gcp"
AWS_TF = "pulumi/terraform-provider-aws"
AWS_TF_REF = "patched-v5.14.0"  # the newest branch of the snapshot: Pulumi's patched upstream
AZURE_SCHEMA = "danielrbradley/pulumi-azure-native-schema"
AZURE_PROVIDER = "pulumi/pulumi-azure-native"
K8S = "pulumi/pulumi-kubernetes"
# azure-native 3.x modules that the 2023 (v2) schema export still keeps under their old names.
AZURE_V2_MODULES = {"monitor": "insights", "applicationinsights": "insights", "privatedns": "network"}


# --- git snapshots --------------------------------------------------------------------------------


@dataclass
class Repo:
    """A fetched snapshot read at one commit."""

    name: str
    commit: str
    git_dir: Path
    _listing: list[str] | None = None

    @classmethod
    def open(cls, name: str, ref: str = "HEAD", root: Path = MIRRORS) -> Repo | None:
        git_dir = root / name.replace("/", "+") / "repo"
        if not git_dir.is_dir():
            return None
        commit = _git(git_dir, "rev-parse", ref).strip()
        return cls(name, commit, git_dir)

    def read(self, path: str) -> str:
        return _git(self.git_dir, "show", f"{self.commit}:{path}")

    def files(self, under: str) -> list[str]:
        if self._listing is None:
            self._listing = _git(self.git_dir, "ls-tree", "-r", "--name-only", self.commit).splitlines()
        return [p for p in self._listing if p.startswith(under)]

    def source(self, path: str) -> str:
        return f"{self.name}:{path}@{self.commit}"


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True,
                          text=True).stdout


# --- a small Go reader: tokens and bracketed groups ----------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+) | (?P<comment>//[^\n]*|/\*.*?\*/) | (?P<string>"(?:\\.|[^"\\])*"|`[^`]*`|'(?:\\.|[^'\\])*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*) | (?P<number>[0-9][0-9a-zA-Z_.]*)
  | (?P<punct>[{}()\[\],:;&*=+\-!<>|.^%/])
""", re.VERBOSE | re.DOTALL)
_CLOSE = {"{": "}", "(": ")", "[": "]"}


@dataclass
class Group:
    """A bracketed group: its opening bracket and its items (split at top-level commas)."""

    open: str
    items: list[list[Token]] = field(default_factory=list)


Token = str | Group


def _tokens(text: str) -> Iterator[str]:
    for match in _TOKEN.finditer(text):
        if match.lastgroup not in ("ws", "comment"):
            yield match.group()


def parse_go(text: str) -> list[Token]:
    """The file as a token list in which every bracketed region is a Group."""
    stack: list[tuple[Group, list[Token]]] = []
    top: list[Token] = []
    current = top
    for token in _tokens(text):
        if token in _CLOSE:
            group = Group(token)
            current.append(group)
            stack.append((group, current))
            current = []
        elif token in ("}", ")", "]") and stack:
            group, parent = stack.pop()
            if current:
                group.items.append(current)
            current = parent
        elif token == "," and stack:
            stack[-1][0].items.append(current)
            current = []
        else:
            current.append(token)
    return top


def _key_value(item: list[Token]) -> tuple[str, list[Token]] | None:
    """``"key": value`` or ``Field: value`` of a composite-literal item."""
    if len(item) >= 2 and isinstance(item[0], str) and item[1] == ":":
        return item[0], item[2:]
    return None


def _unquote(token: str) -> str:
    return token[1:-1] if token[:1] in "\"`" else token


@dataclass
class GoPackage:
    """The top-level funcs and vars of one Go package directory (one snapshot, one commit)."""

    repo: Repo
    directory: str
    funcs: dict[str, list[Token]] = field(default_factory=dict)   # name -> body group contents
    vars: dict[str, list[Token]] = field(default_factory=dict)    # name -> initializer
    files: dict[str, str] = field(default_factory=dict)           # func/var name -> path

    @classmethod
    def load(cls, repo: Repo, directory: str) -> GoPackage:
        package = cls(repo, directory)
        for path in repo.files(directory + "/"):
            if "/" in path[len(directory) + 1:] or not path.endswith(".go") or path.endswith("_test.go"):
                continue
            tokens = parse_go(repo.read(path))
            for i, token in enumerate(tokens):
                name = tokens[i + 1] if i + 1 < len(tokens) else None
                if token == "func" and isinstance(name, str):
                    body = next((t for t in tokens[i + 2:i + 12] if isinstance(t, Group) and t.open == "{"), None)
                    if body is not None:
                        package.funcs[name] = [tok for item in body.items for tok in [*item, ","]]
                        package.files[name] = path
                elif token == "var" and i + 2 < len(tokens) and isinstance(tokens[i + 1], str) and tokens[i + 2] == "=":
                    end = next((j for j in range(i + 3, len(tokens))
                                if tokens[j] in ("func", "var", "const", "type")), len(tokens))
                    package.vars[str(tokens[i + 1])] = list(tokens[i + 3:end])
                    package.files[str(tokens[i + 1])] = path
        return package


def _returned(body: list[Token]) -> list[Token]:
    """The expression after the first top-level ``return`` of a function body."""
    for i, token in enumerate(body):
        if token == "return":
            end = next((j for j in range(i + 1, len(body)) if body[j] in ("return",)), len(body))
            return body[i + 1:end]
    return []


def _schema_maps(expr: list[Token], package: GoPackage, depth: int = 0) -> list[Group]:
    """Schema map literals an expression evaluates to (through vars, calls and MergeSchemas)."""
    if depth > 6:
        return []
    found: list[Group] = []
    for i, token in enumerate(expr):
        if isinstance(token, Group) and token.open == "{" and i >= 1 and _is_schema_map_type(expr[:i]):
            found.append(token)
        elif isinstance(token, Group) and token.open == "(" and i >= 1 and isinstance(expr[i - 1], str):
            callee = str(expr[i - 1]).rsplit(".", 1)[-1]
            if callee.endswith("MergeSchemas") or callee == "merge":
                for arg in token.items:
                    found += _schema_maps(arg, package, depth + 1)
            elif callee in package.funcs:
                found += _schema_maps(_returned(package.funcs[callee]), package, depth + 1)
        elif isinstance(token, str) and token in package.vars and (i + 1 >= len(expr) or expr[i + 1] != ":"):
            found += _schema_maps(package.vars[token], package, depth + 1)
        if found:
            return found
    return found


def _is_schema_map_type(prefix: list[Token]) -> bool:
    text = " ".join(t for t in prefix[-6:] if isinstance(t, str))
    return bool(re.search(r"map\s*$|map \]? ?\*? ?schema\.(Schema|Attribute|Block)$|schema\.(Schema|Attribute|Block)$",
                          text)) and any(t == "map" for t in prefix[-6:])


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]       # TF names
    force_new: bool
    list_like: bool             # a list/set/map block (not MaxItems 1)


def _nested_maps(attrs: Mapping[str, list[Token]], package: GoPackage) -> list[Group]:
    """The schema maps nested under one attribute: SDKv2 ``Elem: &schema.Resource{Schema: ...}``, the
    framework's ``Attributes``/``Blocks`` and ``NestedObject: {Attributes: ..., Blocks: ...}``."""
    maps: list[Group] = []
    for key in ("Attributes", "Blocks"):
        if key in attrs:
            maps += _schema_maps(attrs[key], package)
    for key, wanted in (("Elem", ("Schema",)), ("NestedObject", ("Attributes", "Blocks"))):
        group = next((t for t in attrs.get(key, []) if isinstance(t, Group)), None)
        for item in group.items if group else []:
            kv = _key_value(item)
            if kv and kv[0] in wanted:
                maps += _schema_maps(kv[1], package)
    return maps


def _fields(schema_map: Group, package: GoPackage, path: tuple[str, ...] = (), depth: int = 0) -> list[Field]:
    """Every attribute of a schema map (recursively), with its ForceNew/RequiresReplace flag."""
    out: list[Field] = []
    for item in schema_map.items:
        kv = _key_value(item)
        if kv is None or not kv[0].startswith('"'):
            continue
        name, value = _unquote(kv[0]), kv[1]
        # A literal, or a call or var resolved to its schema literal.
        body = next((t for t in value if isinstance(t, Group) and t.open == "{"), None) \
            or _schema_literal(value, package)
        if body is None:
            continue
        attrs = {k: v for k, v in (_key_value(it) or ("", []) for it in body.items) if k}
        force_new = attrs.get("ForceNew") == ["true"] or "RequiresReplace" in _flat(attrs.get("PlanModifiers", []))
        type_text = " ".join(_flat(attrs.get("Type", []))) + " " + " ".join(t for t in value if isinstance(t, str))
        max_one = attrs.get("MaxItems") == ["1"] or "SingleNested" in type_text
        list_like = not max_one and bool(re.search(r"TypeList|TypeSet|List|Set", type_text))
        here = (*path, name)
        out.append(Field(here, force_new, list_like))
        if depth < 5:
            for nested in _nested_maps(attrs, package):
                out += _fields(nested, package, here, depth + 1)
    return out


def _schema_literal(value: list[Token], package: GoPackage) -> Group | None:
    for i, token in enumerate(value):
        if isinstance(token, Group) and token.open == "(" and i >= 1 and isinstance(value[i - 1], str):
            callee = str(value[i - 1]).rsplit(".", 1)[-1]
            if callee in package.funcs:
                returned = _returned(package.funcs[callee])
                return next((t for t in returned if isinstance(t, Group) and t.open == "{"), None)
        if isinstance(token, str) and token in package.vars:
            return next((t for t in package.vars[token] if isinstance(t, Group) and t.open == "{"), None)
    return None


def _flat(tokens: Iterable[Token]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if isinstance(token, Group):
            for item in token.items:
                out += _flat(item)
        else:
            out.append(token)
    return out


def resource_fields(package: GoPackage, func: str) -> list[Field] | None:
    """The fields of the resource a ``func Resource…() *schema.Resource`` (or framework) declares."""
    body = package.funcs.get(func)
    if body is None:
        return None
    maps: list[Group] = []
    # SDKv2: Schema: <map>; the framework: Attributes: <map> and Blocks: <map>.
    flat_groups = [body]
    while flat_groups and not maps:
        tokens = flat_groups.pop(0)
        if tokens[:2] == ["Identity", ":"]:
            continue  # the resource identity's schema (import ids), not its arguments
        for i, token in enumerate(tokens):
            if token in ("Schema", "Attributes", "Blocks") and i + 1 < len(tokens) and tokens[i + 1] == ":":
                end = next((j for j in range(i + 2, len(tokens)) if tokens[j] == ","), len(tokens))
                maps += _schema_maps(tokens[i + 2:end], package)
            elif isinstance(token, Group):
                flat_groups += list(token.items)
    fields: list[Field] = []
    for schema_map in maps:
        fields += _fields(schema_map, package)
    return fields


# --- names: TF snake_case -> Pulumi camelCase ------------------------------------------------------


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def plural(name: str) -> str:
    """The bridge's pluralisation of a list-typed field name (``allow`` -> ``allows``)."""
    if name.endswith(("s", "Data", "Info")):
        return name
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    if name.endswith(("x", "ch", "sh")):
        return name + "es"
    return name + "s"


def pulumi_path(path: tuple[str, ...], list_like: Mapping[tuple[str, ...], bool], known: set[str]) -> str:
    """Dotted Pulumi path of a TF field path; a list field gets the plural the SDK knows."""
    parts: list[str] = []
    for i in range(len(path)):
        name = camel(path[i])
        if list_like.get(path[:i + 1]):
            candidate = plural(name)
            name = candidate if candidate in known or name not in known else name
        parts.append(name)
    return ".".join(parts)


def sdk_names(package: str) -> set[str]:
    """Every wire (camelCase) property name an installed Pulumi SDK package mentions."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return set()
    names: set[str] = set()
    for location in spec.submodule_search_locations:
        for path in Path(location).rglob("*.py"):
            text = path.read_text(errors="replace")
            names.update(re.findall(r'pulumi\.getter\(name="([A-Za-z0-9]+)"\)', text))
            names.update(camel(n) for n in re.findall(r"def ([a-z][a-z0-9_]*)\(self\)", text))
    return names


# --- the plans: which types mlfabric declares -----------------------------------------------------


def declared_types(plans: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, set[str]]]:
    """cloud -> type -> top-level input names seen, over the given plans (provider resources only)."""
    out: dict[str, dict[str, set[str]]] = {}
    for plan in plans.values():
        for row in plan.get("resources") or []:
            type_ = str(row.get("type"))
            if type_.startswith(("mlfabric:", "pulumi:")) or not row.get("custom", True):
                continue
            cloud = cloud_of(type_)
            out.setdefault(cloud, {}).setdefault(type_, set()).update((row.get("inputs") or {}).keys())
    return out


def cloud_of(type_: str) -> str:
    package = type_.split(":", 1)[0]
    return {"aws": "aws", "gcp": "gcp", "azure-native": "azure", "kubernetes": "kubernetes"}.get(package, package)


def load_plans(directory: Path | None) -> dict[str, dict[str, Any]]:
    plans: dict[str, dict[str, Any]] = {}
    for stack in STACKS:
        if directory is not None:
            plans[stack] = json.loads((directory / f"{stack}.json").read_text())
            continue
        out = subprocess.run([str(ROOT / ".venv" / "bin" / "mlfabric"), "plan", "-s", stack, "--json", "-"],
                             cwd=ROOT, check=False, capture_output=True, text=True).stdout
        plans[stack] = json.loads(out[out.index("{"):])
    return plans


# --- per cloud --------------------------------------------------------------------------------------


def _tf_module_of(bridge: Mapping[str, Any]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Pulumi token -> (TF resource name, bridge field metadata) from a bridge-metadata.json."""
    resources = bridge.get("auto-aliasing", {}).get("resources", {})
    return {str(meta.get("current")): (tf_name, meta.get("fields") or {}) for tf_name, meta in resources.items()}


def _list_like_from_bridge(fields: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], bool]:
    out: dict[tuple[str, ...], bool] = {}
    for name, meta in fields.items():
        out[(*prefix, name)] = meta.get("maxItemsOne") is False
        nested = (meta.get("elem") or {}).get("fields") or {}
        out.update(_list_like_from_bridge(nested, (*prefix, name)))
    return out


def _find_resource(repo: Repo, service_root: str, tf_name: str) -> tuple[GoPackage, str, str] | None:
    """(package, schema expression, file) of the registration of a TF resource: the google
    provider's ``registry.Schema{Name: "google_x", Schema: ResourceX()}``, or the aws provider's
    ``{Factory: ResourceX, TypeName: "aws_x"}``."""
    quoted = f'"{tf_name}"'
    for path, text in _grep_cache(repo, service_root).items():
        if quoted not in text:
            continue
        matches = [*re.finditer(r"Name:\s*" + re.escape(quoted) + r",(?:(?!\}\.Register)[^\n]*\n)*?\s*Schema:\s*(.+?),?\n",
                                text),
                   *re.finditer(r"Factory:\s*(\w+),\s*TypeName:\s*" + re.escape(quoted), text)]
        match = next((m for m in matches if "datasource" not in m.group(0).lower()), None)
        if match and "datasource" not in path.rsplit("/", 1)[-1].replace("_", "").lower():
            expr = match.group(1).strip()
            expr = expr if "(" in expr else expr + "()"
            return GoPackage.load(repo, path.rsplit("/", 1)[0]), expr, path
    return None


def _expr_fields(repo: Repo, service_root: str, package: GoPackage, expr: str, depth: int = 0) -> list[Field] | None:
    """Fields of a registration's schema expression: ``ResourceX()``, or an IAM member resource
    (``ResourceIamMember(ParentSchema, ...)``: the shared member schema plus the parent's)."""
    iam = re.search(r"ResourceIamMember\((\w+)", expr)
    if iam:
        base = GoPackage.load(repo, service_root.rstrip("/").rsplit("/", 1)[0] + "/tpgiamresource")
        fields: list[Field] = []
        for pkg, var in ((base, "IamMemberBaseSchema"), (package, iam.group(1))):
            for schema_map in _schema_maps(pkg.vars.get(var, []), pkg):
                fields += _fields(schema_map, pkg)
        return fields or None
    call = re.match(r"(?:\w+\.)?(\w+)\(\)$", expr)
    if not call or call.group(1) not in package.funcs:
        return None
    found = resource_fields(package, call.group(1))
    if not found and depth < 2:
        returned = " ".join(_flat(_returned(package.funcs[call.group(1)])))
        if "ResourceIamMember" in returned:
            return _expr_fields(repo, service_root, package, returned.replace(" ", ""), depth + 1)
    return found or None


_GREP: dict[tuple[str, str], dict[str, str]] = {}


def _grep_cache(repo: Repo, under: str) -> dict[str, str]:
    """The text of every Go file under a directory (read once: git cat-file --batch)."""
    key = (repo.commit, under)
    if key not in _GREP:
        paths = [p for p in repo.files(under) if p.endswith(".go") and not p.endswith("_test.go")]
        batch = "".join(f"{repo.commit}:{p}\n" for p in paths)
        raw = subprocess.run(["git", "--git-dir", str(repo.git_dir), "cat-file", "--batch"], input=batch.encode(),
                             check=True, capture_output=True).stdout
        texts: dict[str, str] = {}
        pos = 0
        for path in paths:
            header_end = raw.index(b"\n", pos)
            size = int(raw[pos:header_end].split()[2])
            texts[path] = raw[header_end + 1:header_end + 1 + size].decode(errors="replace")
            pos = header_end + 1 + size + 1
        _GREP[key] = texts
    return _GREP[key]


def terraform_rows(types: Mapping[str, set[str]], tf: Repo, service_root: str,
                   token_map: Mapping[str, tuple[str, Mapping[str, Any]]], sdk: set[str],
                   tf_name_of: Any) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for type_ in sorted(types):
        tf_name, bridge_fields = token_map.get(type_, (tf_name_of(type_), {}))
        found = _find_resource(tf, service_root, tf_name)
        fields = _expr_fields(tf, service_root, found[0], found[1]) if found else None
        if not found or not fields:
            rows[type_] = {"replace_on_change": "unknown", "terraform": tf_name,
                           "note": f"no schema for {tf_name} found in {tf.name}@{tf.commit}"}
            continue
        func = re.match(r"(?:\w+\.)?(\w+)\(", found[1])
        path = found[0].files.get(func.group(1), found[2]) if func else found[2]
        list_like = {f.path: f.list_like for f in fields}
        list_like.update(_list_like_from_bridge(bridge_fields))
        # ForceNew on a block (a list of nested objects) applies to adding or removing the block;
        # its attributes carry their own flag (SDKv2 diffs the block's count with the block's
        # ForceNew, then each nested attribute with its own), so a block path is listed only when
        # it has no nested fields.
        blocks = {f.path[:-1] for f in fields if len(f.path) > 1}
        replace = sorted({pulumi_path(f.path, list_like, sdk) for f in fields
                          if f.force_new and f.path not in blocks})
        rows[type_] = {"replace_on_change": replace, "terraform": tf_name,
                       "source": tf.source(path)}
    return rows


def gcp_rows(types: Mapping[str, set[str]]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    pulumi = Repo.open(GCP_PULUMI)
    if pulumi is None:
        raise SystemExit(f"gcp: no snapshot of {GCP_PULUMI} (fetch github:{GCP_PULUMI})")
    pinned = re.search(r"^160000 commit ([0-9a-f]{40})\tupstream$", _git(pulumi.git_dir, "ls-tree", pulumi.commit,
                                                                           "upstream"), re.M)
    tf = Repo.open(GCP_TF, pinned.group(1) if pinned else "HEAD")
    if tf is None:
        raise SystemExit(f"gcp: no snapshot of {GCP_TF} (fetch github:{GCP_TF})")
    bridge = json.loads(pulumi.read("provider/cmd/pulumi-resource-gcp/bridge-metadata.json"))
    rows = terraform_rows(types, tf, "google-beta/services/", _tf_module_of(bridge), sdk_names("pulumi_gcp"),
                          lambda t: "google_" + t)
    sources = [{"repo": pulumi.name, "commit": pulumi.commit, "path": "provider/cmd/pulumi-resource-gcp/bridge-metadata.json",
                "role": "Pulumi token -> Terraform resource, list/object shape"},
               {"repo": tf.name, "commit": tf.commit, "path": "google-beta/services/",
                "role": "ForceNew in the Go schemas (the commit pulumi-gcp's upstream submodule pins)"}]
    return rows, sources


def _aws_tf_name(type_: str) -> str:
    module, _, rest = type_.split(":", 2)[1].partition("/")
    resource = rest
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", resource).lower()
    special = {"ec2": "", "vpc": "vpc_", "iam": "iam_", "s3": "s3_"}
    if module == "ec2":
        return "aws_" + snake
    if module == "s3":
        return "aws_s3_" + snake if snake != "bucket" else "aws_s3_bucket"
    if module in special and special[module] and snake.startswith(module):
        return "aws_" + snake
    return f"aws_{module}_{snake}".replace("open_id_connect", "openid_connect")


def aws_rows(types: Mapping[str, set[str]]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    tf = Repo.open(AWS_TF, AWS_TF_REF)
    if tf is None:
        raise SystemExit(f"aws: no snapshot of {AWS_TF} (fetch github:{AWS_TF})")
    rows = terraform_rows(types, tf, "internal/service/", {}, sdk_names("pulumi_aws"), _aws_tf_name)
    version = re.search(r"^## ([0-9.]+)", tf.read("CHANGELOG.md"), re.M)
    sources = [{"repo": tf.name, "commit": tf.commit, "path": "internal/service/",
                "role": f"ForceNew/RequiresReplace in the Go schemas of terraform-provider-aws "
                        f"{version.group(1) if version else '?'} (Pulumi's patched fork, ref {AWS_TF_REF}); "
                        "pulumi-aws 7.x bridges the 6.x line, so types added later are 'unknown'"}]
    return rows, sources


def azure_rows(types: Mapping[str, set[str]], extra: Mapping[str, tuple[str, str, str]]
               ) -> tuple[dict[str, Any], list[dict[str, str]]]:
    schema = Repo.open(AZURE_SCHEMA)
    if schema is None:
        raise SystemExit(f"azure: no snapshot of {AZURE_SCHEMA} (fetch github:{AZURE_SCHEMA})")
    import yaml

    force_new_map: dict[tuple[str, str], list[str]] = {}
    provider_source = ""
    replacement = extra.get(f"{AZURE_PROVIDER}:provider/pkg/gen/replacement.go")
    if replacement:
        commit, path, local = replacement
        provider_source = f"{AZURE_PROVIDER}:{path}@{commit}"
        text = Path(local).read_text()
        body = text.split("var forceNewMap", 1)[1].split("var noForceNewMap", 1)[0]
        for module, block in re.findall(r'"(\w+)":\s*\{(.*?)\n\t\}', body, re.S):
            for resource, names in re.findall(r'"(\w+)":\s*codegen\.NewStringSet\((.*?)\)', block, re.S):
                force_new_map[(module.lower(), resource)] = re.findall(r'"(\w+)"', re.sub(r"//[^\n]*", "", names))
    rows: dict[str, Any] = {}
    for type_ in sorted(types):
        module, resource = type_.split(":")[1], type_.split(":")[2]
        path = f"{AZURE_V2_MODULES.get(module, module)}/resources/{resource}.yaml"
        try:
            doc = yaml.safe_load(schema.read(path))
        except subprocess.CalledProcessError:
            rows[type_] = {"replace_on_change": "unknown", "note": f"{path} not in {schema.name}@{schema.commit}"}
            continue
        inputs = doc.get("inputProperties") or {}
        replace = {name for name, prop in inputs.items() if prop.get("willReplaceOnChanges")}
        replace |= _azure_nested(schema, inputs, "", 0)
        row: dict[str, Any] = {"source": schema.source(path)}
        extra_names = force_new_map.get((module, resource), [])
        if extra_names:
            # forceNewMap names are matched at any depth by the provider: top-level ones directly,
            # nested ones (networkProfile.serviceCidr...) under whichever input holds them.
            for name in extra_names:
                nested = set(_azure_find(schema, inputs, name, "", 0))
                replace |= {name} if name in inputs else nested
                # The provider now lists only these sub-properties of an input the 2023 export
                # marked whole (networkProfile): the newer, narrower source wins.
                replace -= {path.split(".", 1)[0] for path in nested}
            row["also"] = provider_source
        row["replace_on_change"] = sorted(replace)
        rows[type_] = row
    sources = [{"repo": schema.name, "commit": schema.commit, "path": "<module>/resources/<Resource>.yaml",
                "role": "willReplaceOnChanges in an export of the azure-native schema (2023, v2 dev)"}]
    if provider_source:
        sources.append({"repo": AZURE_PROVIDER, "commit": replacement[0] if replacement else "",
                        "path": "provider/pkg/gen/replacement.go", "role": "forceNewMap (hand-kept replacements)"})
    return rows, sources


def _azure_type(schema: Repo, ref: str) -> dict[str, Any]:
    import yaml

    token = ref.rsplit("/", 1)[-1]
    module, name = token.split(":")[1], token.split(":")[2]
    if "/" in module:
        return {}
    try:
        return yaml.safe_load(schema.read(f"{module}/types/{name}.yaml")) or {}
    except subprocess.CalledProcessError:
        return {}


def _azure_nested(schema: Repo, props: Mapping[str, Any], prefix: str, depth: int) -> set[str]:
    out: set[str] = set()
    if depth > 3:
        return out
    for name, prop in props.items():
        ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
        if not ref or not str(ref).startswith("#/types/"):
            continue
        nested = _azure_type(schema, str(ref)).get("properties") or {}
        path = f"{prefix}{name}"
        if depth > 0 and prop.get("willReplaceOnChanges"):
            out.add(path)
        for sub, sub_prop in nested.items():
            if sub_prop.get("willReplaceOnChanges"):
                out.add(f"{path}.{sub}")
        out |= _azure_nested(schema, nested, path + ".", depth + 1)
    return out


def _azure_find(schema: Repo, props: Mapping[str, Any], wanted: str, prefix: str, depth: int) -> Iterator[str]:
    if depth > 3:
        return
    for name, prop in props.items():
        if name == wanted and prefix:
            yield prefix + name
        ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
        if ref and str(ref).startswith("#/types/"):
            yield from _azure_find(schema, _azure_type(schema, str(ref)).get("properties") or {}, wanted,
                                   f"{prefix}{name}.", depth + 1)


def kubernetes_rows(types: Mapping[str, set[str]]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    repo = Repo.open(K8S)
    if repo is None:
        raise SystemExit(f"kubernetes: no snapshot of {K8S} (fetch github:{K8S})")
    path = "provider/pkg/provider/diff.go"
    text = repo.read(path)
    helpers = {name: re.findall(r'prefix \+ "([^"]+)"', body)
               for name, body in re.findall(r"func (\w+)\((?:prefix string|prefixes \.\.\.string)\) properties \{(.*?)\n\}",
                                            text, re.S)}

    def expand(expr: str) -> list[str]:
        props = re.findall(r'^\s*"([^"]+)",?\s*$', expr, re.M)
        for helper, prefix in re.findall(r"(\w+)\(\"([^\"]+)\"", expr):
            props += [prefix + suffix for suffix in helpers.get(helper, [])]
        return props

    variables = {name: expand(body) for name, body in
                 re.findall(r"^var (\w+) = (?:append\()?properties\{(.*?)^\)?\}?\n\n", text, re.S | re.M)}
    table = text.split("var forceNew = _groups{", 1)[1].split("\n}\n", 1)[0]
    kinds: dict[tuple[str, str, str], list[str]] = {}
    for group, versions in re.findall(r'^\t"([\w.]*)": _versions\{(.*?)^\t\},', table, re.S | re.M):
        for version, entries in re.findall(r'"(\w+)":\s*_kinds\{(.*?)\}', versions, re.S):
            for kind, var in re.findall(r'"(\w+)":\s*(\w+)', entries):
                kinds[(group, version, kind)] = variables.get(var, [])
    metadata = [".metadata" + s for s in helpers.get("metadataForceNewProperties", [])]
    rows: dict[str, Any] = {}
    for type_ in sorted(types):
        group_version, kind = type_.split(":")[1], type_.split(":")[2]
        group, _, version = group_version.rpartition("/")
        props = metadata + kinds.get((group if group != "core" else "core", version, kind), [])
        rows[type_] = {"replace_on_change": sorted({p.lstrip(".").replace("[*]", "") for p in props}),
                       "source": repo.source(path)}
    return rows, [{"repo": repo.name, "commit": repo.commit, "path": path, "role": "forceNew table"}]


# --- main -----------------------------------------------------------------------------------------------


def write(cloud: str, rows: Mapping[str, Any], sources: list[dict[str, str]], out_root: Path) -> Path:
    today = dt.date.today().isoformat()
    document = {
        "format": FORMAT,
        "generated_by": "scripts/refresh_replacements.py",
        "generated": today,
        "note": "Inputs whose change makes the provider replace the resource (Pulumi names, dotted for nested "
                "blocks; a change at or under a listed path replaces). 'unknown': no source was found.",
        "sources": [{**s, "fetched": today} for s in sources],
        "types": dict(sorted(rows.items())),
    }
    target = out_root / cloud / "replacements.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=Path, help="directory with <stack>.json plans of the six example stacks")
    parser.add_argument("--cloud", action="append", choices=("aws", "gcp", "azure", "kubernetes"))
    parser.add_argument("--file", action="append", default=[],
                        help="owner/repo@commit:path=LOCAL: a source file read outside a snapshot")
    parser.add_argument("--out", type=Path, default=ROOT / "components")
    args = parser.parse_args(argv)
    extra: dict[str, tuple[str, str, str]] = {}
    for spec in args.file:
        match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([0-9a-f]{40}):([^=]+)=(.+)", spec)
        if not match:
            parser.error(f"--file: want owner/repo@commit:path=LOCAL (got {spec!r})")
        extra[f"{match.group(1)}:{match.group(3)}"] = (match.group(2), match.group(3), match.group(4))
    types = declared_types(load_plans(args.plans))
    for cloud in args.cloud or ("gcp", "aws", "azure", "kubernetes"):
        cloud_types = types.get(cloud, {})
        if cloud == "gcp":
            rows, sources = gcp_rows(cloud_types)
        elif cloud == "aws":
            rows, sources = aws_rows(cloud_types)
        elif cloud == "azure":
            rows, sources = azure_rows(cloud_types, extra)
        else:
            rows, sources = kubernetes_rows(cloud_types)
        known = sum(1 for r in rows.values() if r["replace_on_change"] != "unknown")
        path = write(cloud, rows, sources, args.out)
        print(f"{path}: {len(rows)} types, {known} with data, "
              f"{sum(len(r['replace_on_change']) for r in rows.values() if r['replace_on_change'] != 'unknown')} "
              "replace-on-change paths", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
