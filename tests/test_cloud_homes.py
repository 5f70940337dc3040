"""One home per cloud: no module outside ``components/aws``, ``components/gcp`` and
``components/azure`` names a cloud.

"Names a cloud" means, in the code itself (Python's ``ast``, so comments and docstrings never
count): a string constant that is a cloud or package name (``"aws"``, ``"gcp"``, ``"azure"``,
``"azure-native"``), a type token or provider config key of a cloud's package (``"aws:..."``), or an
import of a cloud's SDK (``pulumi_aws``, ``pulumi_gcp``, ``pulumi_azure_native``, ``boto3``,
``botocore``) or of a cloud's home (``mlfabric.components.<cloud>``), by statement or by name.
What a cloud knows is reached through its kit (``components/kit.py``: ``kit_for(spec.cloud)``).

Scanned: ``components/`` and ``mlfabric/`` (not ``policies/``, a standalone pack that matches
provider type tokens by design). Excepted as data: the catalogue (``catalog.py``: the ``Cloud``
literal, machines, regions) and the price table (``prices.py``), rows keyed by cloud; the spec's
public ``aws:``/``gcp:``/``azure:`` option blocks are field names, not strings, and need no exception.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

HOMES = ("components/aws", "components/gcp", "components/azure")
SCANNED = ("components", "mlfabric")
# The installed namespace links back to components/ and policies/: scanned once, under their own name.
LINKS = ("mlfabric/components", "mlfabric/policies")
CLOUD_NAMES = frozenset({"aws", "gcp", "azure", "azure-native"})
PACKAGE_PREFIXES = ("aws:", "gcp:", "azure-native:")
CLOUD_MODULES = (
    "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "boto3", "botocore",
    "mlfabric.components.aws", "mlfabric.components.gcp", "mlfabric.components.azure",
)

# Data, keyed by cloud on purpose.
DATA: dict[str, str] = {
    "components/catalog.py": "the accelerator/machine catalogue: the Cloud literal and rows per cloud",
    "components/prices.py": "list prices per cloud, as rows with source and date",
}

# What still names a cloud and cannot move in this change. Each entry says why; an entry whose file
# no longer names a cloud fails test_every_exception_is_still_needed, so the list only shrinks.
ALLOWED: dict[str, str] = {
    "components/program.py": "GCP's project may come from the provider's `gcp:project` config; "
                             "belongs in the GCP kit (a kit field for the account lookup)",
    "mlfabric/plan.py": "the offline plan repeats program.py's `gcp:project` fallback; moves with it",
    "mlfabric/mocks.py": "fake outputs per package, imported from each home; should ask kit_for(...)",
    "mlfabric/check/rules_table.py": "per-cloud rule counts for the README table; being restructured",
    "mlfabric/preflight.py": "AWS-only day-2 tool: quotas and offerings through boto3",
    "mlfabric/verify.py": "AWS-only day-2 tool: live state through boto3/botocore",
}


def _is_cloud_module(name: str) -> bool:
    return any(name == m or name.startswith(f"{m}.") for m in CLOUD_MODULES)


def _is_cloud_string(value: str) -> bool:
    return value in CLOUD_NAMES or value.startswith(PACKAGE_PREFIXES) or _is_cloud_module(value)


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: resolve against the module's own package
        parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        base = f"{parent}.{base}" if base else parent
    # `from mlfabric.components import aws` imports the module mlfabric.components.aws
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def cloud_names_in(source: str, package: str = "") -> list[str]:
    """Each place a module's code names a cloud, as ``line: what``."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if _is_cloud_string(node.value):
                found.append(f"{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            # one finding per statement: the first module it names that belongs to a cloud
            name = next((n for n in _imported(node, package) if _is_cloud_module(n)), None)
            found += [f"{node.lineno}: import {name}"] if name else []
    return found


def _package_of(relative: Path) -> str:
    # components/ is installed as mlfabric.components
    parts = ("mlfabric", *relative.parts[:-1]) if relative.parts[0] == "components" else relative.parts[:-1]
    return ".".join(parts)


def scan(root: Path) -> dict[str, list[str]]:
    """Every module outside the clouds' homes that names a cloud: path -> places."""
    findings: dict[str, list[str]] = {}
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root)
            key = relative.as_posix()
            if key.startswith(tuple(f"{d}/" for d in (*HOMES, *LINKS))):
                continue
            places = cloud_names_in(path.read_text(), _package_of(relative))
            if places:
                findings[key] = places
    return findings


@pytest.fixture(scope="module")
def findings() -> dict[str, list[str]]:
    return scan(ROOT)


def test_no_module_outside_a_clouds_home_names_a_cloud(findings: dict[str, list[str]]) -> None:
    unexpected = {path: places for path, places in findings.items() if path not in DATA and path not in ALLOWED}
    assert unexpected == {}, "move this into components/<cloud>/ and reach it through the cloud's kit"


def test_every_exception_is_still_needed(findings: dict[str, list[str]]) -> None:
    assert sorted(set(DATA) | set(ALLOWED)) == sorted(p for p in findings if p in DATA or p in ALLOWED)


def test_the_allowlist_stays_short_and_says_why() -> None:
    assert len(ALLOWED) <= 6
    assert all(len(why) > 20 for why in (*ALLOWED.values(), *DATA.values()))


def test_a_cloud_branch_added_to_a_cloud_neutral_module_is_caught(tmp_path: Path) -> None:
    platform = (ROOT / "components" / "platform.py").read_text()
    (tmp_path / "components").mkdir()
    (tmp_path / "mlfabric").mkdir()
    (tmp_path / "components" / "platform.py").write_text(
        platform + '\n\ndef _zones(cloud: str) -> int:\n    if cloud == "gcp":\n        return 3\n    return 2\n'
    )
    [place] = scan(tmp_path)["components/platform.py"]
    assert place.endswith(": 'gcp'")


@pytest.mark.parametrize(("source", "package", "expected"), [
    ('import pulumi_aws as aws\n', "", ["1: import pulumi_aws"]),
    ('import boto3.session\n', "", ["1: import boto3.session"]),
    ('from mlfabric.components import azure\n', "", ["1: import mlfabric.components.azure"]),
    ('from mlfabric.components.gcp.tags import render_labels\n', "", ["1: import mlfabric.components.gcp.tags"]),
    ('from .aws import kit\n', "mlfabric.components", ["1: import mlfabric.components.aws"]),
    ('TOKEN = "azure-native:network:NatGateway"\n', "", ["1: 'azure-native:network:NatGateway'"]),
    ('KIT = importlib.import_module("mlfabric.components.aws.kit")\n', "", ["1: 'mlfabric.components.aws.kit'"]),
    ('"""Builds on aws."""\nNAME = "AWS and gcp"  # aws\n', "", []),
    ('kit = kit_for(spec.cloud)\nfrom mlfabric.components import kit\n', "", []),
], ids=["sdk", "boto3", "home-by-name", "home-module", "relative", "type-token", "module-string", "prose",
        "through-the-kit"])
def test_what_counts_as_naming_a_cloud(source: str, package: str, expected: list[str]) -> None:
    assert cloud_names_in(source, package) == expected
