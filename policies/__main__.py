"""Entry point of the CrossGuard pack: `pulumi preview --policy-pack policies` runs this file.

This is the only place that constructs ``pulumi_policy.PolicyPack``: the constructor starts the
analyzer's gRPC server and blocks serving the engine until it is killed. The offline checker and the
tests import ``mlfabric.policies.rules`` instead and call each policy's ``validate`` themselves.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The engine runs this file with the pack directory on sys.path (package name "rules"); when the
# repository root is on the path instead (python -m policies), the package is "mlfabric.policies.rules".
_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
rules = importlib.import_module("rules")

PolicyPack(
    name=rules.PACK_NAME,
    policies=list(rules.POLICIES),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="mlfabric guardrails: encrypted private storage, private clusters with bounded GPU pools, "
    "scanned registries, monitored serving, least-privilege IAM and required tags.",
)
