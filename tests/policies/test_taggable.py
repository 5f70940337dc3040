"""The required-tags rule's table of taggable types agrees with the installed provider SDKs.

``policies/rules/taggable.py`` is generated from the SDKs (it may not import them: the pack runs
without them). Regenerate after a provider upgrade with ``python -m tests.policies.test_taggable``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pulumi

from mlfabric.policies.rules.taggable import TAG_PROPERTY

SITE = Path(pulumi.__file__).resolve().parent.parent
TABLE = Path(__file__).resolve().parents[2] / "policies" / "rules" / "taggable.py"
# The provider modules mlfabric's components (and hand-written additions to a platform) use.
MODULES = {
    "pulumi_aws": ["s3", "kms", "eks", "ec2", "ecr", "sagemaker", "sns", "cloudwatch", "iam", "appautoscaling",
                   "efs", "secretsmanager", "vpc"],
    "pulumi_gcp": ["storage", "kms", "container", "artifactregistry", "vertex", "monitoring", "compute", "pubsub",
                   "secretmanager", "cloudrunv2", "logging"],
    "pulumi_azure_native": ["storage", "keyvault", "containerservice", "containerregistry", "machinelearningservices",
                            "network", "operationalinsights", "monitor", "managedidentity", "resources",
                            "applicationinsights"],
}
_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'([^']+)'")
_GETTER = re.compile(r'@pulumi\.getter(?:\(name="(\w+)"\))?\s*\n\s*def (\w+)\(self\)\s*->\s*([^:]+):')


def generate() -> dict[str, str]:
    """type token -> the prop that holds its tags/labels, for every resource whose Args take a map."""
    table: dict[str, str] = {}
    for package, modules in MODULES.items():
        keys = ["userLabels", "resourceLabels", "labels"] if package == "pulumi_gcp" else ["tags"]
        for module in modules:
            for source in sorted((SITE / package / module).glob("*.py")):
                if source.name.startswith(("_", "get_", "list_")):
                    continue
                text = source.read_text()
                token = _TOKEN.search(text)
                args = re.search(r"^class (\w+Args):", text, re.MULTILINE)
                if not token or not args:
                    continue
                start = text.find(f"class {args.group(1)}:")
                end = text.find("\nclass ", start + 5)
                props = {m.group(1) or m.group(2): m.group(3) for m in _GETTER.finditer(text[start:end])}
                for key in keys:
                    if "Mapping" in props.get(key, ""):
                        table[token.group(1)] = key
                        break
    return dict(sorted(table.items()))


def render(table: dict[str, str]) -> str:
    lines = [
        '"""Taggable resource types and the prop holding their tags (GCP: labels). GENERATED from the',
        "installed provider SDKs by ``python -m tests.policies.test_taggable``; do not edit by hand.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Final",
        "",
        "TAG_PROPERTY: Final[dict[str, str]] = {",
        *(f'    "{token}": "{prop}",' for token, prop in table.items()),
        "}",
        "",
    ]
    return "\n".join(lines)


def test_taggable_table_matches_the_installed_sdks() -> None:
    assert generate() == TAG_PROPERTY, "regenerate with: python -m tests.policies.test_taggable"


def test_table_covers_what_mlfabric_tags() -> None:
    for token, prop in {
        "aws:s3/bucket:Bucket": "tags",
        "aws:kms/key:Key": "tags",
        "aws:eks/cluster:Cluster": "tags",
        "gcp:storage/bucket:Bucket": "labels",
        "gcp:container/cluster:Cluster": "resourceLabels",
        "gcp:cloudrunv2/service:Service": "labels",
        "azure-native:storage:StorageAccount": "tags",
        "azure-native:keyvault:Vault": "tags",
    }.items():
        assert TAG_PROPERTY[token] == prop
    assert "aws:s3/bucketPolicy:BucketPolicy" not in TAG_PROPERTY
    assert "azure-native:storage:BlobContainer" not in TAG_PROPERTY
    # pulumi-gcp's logging resources (log buckets, sinks, metrics) take no labels: nothing to require.
    assert not [token for token in TAG_PROPERTY if token.startswith("gcp:logging/")]


if __name__ == "__main__":
    TABLE.write_text(render(generate()))
    print(f"wrote {TABLE}", file=sys.stderr)
