"""Every private or internal Pulumi SDK name mlfabric relies on is still where ``mlfabric.compat`` expects it.

An SDK upgrade that moves, renames or removes one fails here, naming the symbol and the installed
SDK version, instead of as an obscure error deep inside a plan or a policy check. The fix is one
edit in ``mlfabric/compat.py`` (and this table).

What these tests cannot prove: that a symbol that is still there still behaves the same — the plan
and check tests exercise that.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import pytest

from tests.helpers import ROOT


@dataclass(frozen=True)
class Internal:
    """One SDK name: the distribution that ships it, where it lives, and what mlfabric.compat calls it."""

    distribution: str
    module: str
    attribute: str  # dotted for an attribute of an object, e.g. "SETTINGS.rpc_manager"
    compat_name: str | None  # None: used directly where mlfabric cannot be imported (the policy pack)

    @property
    def symbol(self) -> str:
        return f"{self.module}.{self.attribute}"


INTERNALS: list[Internal] = [
    Internal("pulumi", "pulumi.runtime.settings", "SETTINGS", "SETTINGS"),
    Internal("pulumi", "pulumi.runtime.settings", "SETTINGS.rpc_manager", None),
    Internal("pulumi", "pulumi.runtime.settings", "SETTINGS.outputs", None),
    Internal("pulumi", "pulumi.runtime.settings", "get_root_resource", "get_root_resource"),
    Internal("pulumi", "pulumi.runtime.stack", "run_pulumi_func", "run_pulumi_func"),
    Internal("pulumi", "pulumi.runtime.sync_await", "_sync_await", "sync_await"),
    Internal("pulumi", "pulumi.runtime.mocks", "MockMonitor", "MockMonitor"),
    Internal("pulumi", "pulumi.runtime.mocks", "MockMonitor.RegisterResource", None),
    Internal("pulumi", "pulumi.runtime.rpc", "deserialize_properties", "deserialize_properties"),
    Internal("pulumi", "pulumi.runtime.rpc", "get_resource_module", "get_resource_module"),
    Internal("pulumi", "pulumi", "_types", "sdk_types"),
    *(Internal("pulumi", "pulumi._types", name, None)
      for name in ("is_input_type", "is_output_type", "input_type_types", "output_type_types", "resource_types")),
    Internal("pulumi", "pulumi.runtime.proto", "analyzer_pb2", "analyzer_pb2"),
    Internal("pulumi", "pulumi.runtime.proto", "analyzer_pb2_grpc", "analyzer_pb2_grpc"),
    Internal("pulumi-policy", "pulumi_policy.policy", "_NotApplicableError", "NotApplicableError"),
    Internal("pulumi-policy", "pulumi_policy.proxy", "unknown_checking_proxy", "unknown_checking_proxy"),
    Internal("pulumi-policy", "pulumi_policy.proxy", "UNKNOWN_STRING_VALUE", "UNKNOWN_STRING_VALUE"),
    # The pack (policies/rules/base.py) imports these itself: under the engine mlfabric is not installed.
    *(Internal("pulumi-policy", "pulumi_policy.proxy", f"UNKNOWN_{kind}_VALUE", None)
      for kind in ("ARCHIVE", "ARRAY", "ASSET", "BOOLEAN", "NUMBER", "OBJECT")),
]


def _resolve(internal: Internal) -> Any:
    """The object ``internal`` names; AssertionError naming the symbol and the SDK version when it is gone."""
    where = f"{internal.symbol} (mlfabric.compat relies on it) is gone from {internal.distribution} " \
            f"{version(internal.distribution)}: update mlfabric/compat.py for this SDK version"
    head, *rest = internal.attribute.split(".")
    try:
        value = getattr(importlib.import_module(internal.module), head)
        for part in rest:
            value = getattr(value, part)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{where} ({type(error).__name__}: {error})")
    return value


@pytest.mark.parametrize("internal", INTERNALS, ids=[i.symbol for i in INTERNALS])
def test_the_installed_sdk_still_has_every_internal_name_mlfabric_uses(internal: Internal) -> None:
    _resolve(internal)


@pytest.mark.parametrize("internal", [i for i in INTERNALS if i.compat_name],
                         ids=[i.symbol for i in INTERNALS if i.compat_name])
def test_compat_hands_out_the_sdk_object_itself(internal: Internal) -> None:
    import mlfabric.compat

    assert internal.compat_name is not None
    assert getattr(mlfabric.compat, internal.compat_name) is _resolve(internal)


def test_compat_exports_exactly_the_names_in_this_table() -> None:
    import mlfabric.compat

    assert sorted(mlfabric.compat.__all__) == sorted(i.compat_name for i in INTERNALS if i.compat_name)


def test_compat_has_no_name_it_does_not_declare() -> None:
    import mlfabric.compat

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        getattr(mlfabric.compat, "nothing_here")  # noqa: B009 (the lookup under test)


_RUNTIME = r"(settings|stack|sync_await|mocks|rpc|proto)"
PRIVATE_IMPORT = re.compile(
    rf"^\s*(from|import)\s+(pulumi\.runtime\.{_RUNTIME}|pulumi_policy\.(policy|proxy)|pulumi\._)"
    rf"|^\s*from\s+pulumi\.runtime\s+import\s+.*\b{_RUNTIME}\b"
    r"|^\s*from\s+(pulumi|pulumi_policy)\s+import\s+.*\b_[a-z]"
)
# Where private names may be imported directly: compat itself, this test, and the policy pack
# (policies/, which runs under the engine without mlfabric).
ALLOWED = {"mlfabric/compat.py", "tests/test_compat.py"}
# Tests that still import private names directly; they belong to changes in flight and move to
# mlfabric.compat next. Do not add to this list.
PENDING = {"tests/test_upgrade_safety.py", "tests/test_serving_aws.py", "tests/policies/test_pack.py",
           "tests/policies/test_rules.py"}


def _private_imports() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in ("mlfabric", "components", "bench", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name.startswith(("mlfabric/components/", "mlfabric/policies/")) or name in ALLOWED:
                continue  # the links to components/ and policies/ are scanned (or exempt) at their home
            lines = [f"{name}:{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), 1)
                     if PRIVATE_IMPORT.match(line)]
            if lines:
                found[name] = lines
    return found


def test_only_compat_imports_private_sdk_names() -> None:
    """In mlfabric, components, bench and the tests, private SDK names come from mlfabric.compat."""
    offenders = [line for name, lines in _private_imports().items() if name not in PENDING for line in lines]
    assert offenders == [], "import these from mlfabric.compat instead:\n" + "\n".join(offenders)


def test_a_plan_does_not_import_the_policy_sdk() -> None:
    """compat imports pulumi-policy names on first use, so `mlfabric plan` never pays for that SDK."""
    code = ("import sys\nimport mlfabric.plan\nimport mlfabric.compat\n"
            "print(any(m.startswith('pulumi_policy') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
