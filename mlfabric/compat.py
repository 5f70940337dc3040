"""The one place mlfabric uses private or internal names of the Pulumi SDKs (``pulumi``, ``pulumi-policy``).

Everything else imports them from here, so an SDK upgrade that moves one breaks one module, and
``tests/test_compat.py`` names the symbol and the installed SDK version. Why each is needed:

- the offline plan (``mlfabric.plan``) runs the program the way ``pulumi.runtime.test`` does:
  ``MockMonitor`` is subclassed to record every RegisterResource request, ``deserialize_properties``
  turns a request's inputs back into data, ``run_pulumi_func`` / ``sync_await`` run the program and
  wait for it, ``get_root_resource`` holds the stack outputs, and ``SETTINGS`` is cleared so a failed
  run cannot leak pending work into the next;
- the offline policy check (``mlfabric.check``) hands props to policies wrapped exactly as the
  analyzer wraps them (``unknown_checking_proxy``) and recognises a policy that declares itself not
  applicable (``NotApplicableError``);
- components read what a resource's outputs look like from the SDK's own declarations, as the
  SDK does when it resolves a provider's answer: ``get_resource_module`` finds the class of a type
  token, ``sdk_types`` (``pulumi._types``) tells input and output types apart;
- the tests speak the analyzer's gRPC protocol (``analyzer_pb2``, ``analyzer_pb2_grpc``) and build
  unknown values (``UNKNOWN_STRING_VALUE``).

``pulumi-policy`` names are imported on first use (PEP 562), so a plan never pays for importing the
policy SDK. The policy pack itself (``policies/rules``) imports the ``pulumi_policy.proxy`` unknown
markers directly: it runs under the engine without mlfabric installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from pulumi import _types as sdk_types
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi.runtime.rpc import deserialize_properties, get_resource_module
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await as sync_await

if TYPE_CHECKING:
    from pulumi_policy.policy import _NotApplicableError as NotApplicableError
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

__all__ = [
    "SETTINGS",
    "UNKNOWN_STRING_VALUE",
    "MockMonitor",
    "NotApplicableError",
    "analyzer_pb2",
    "analyzer_pb2_grpc",
    "deserialize_properties",
    "get_resource_module",
    "get_root_resource",
    "run_pulumi_func",
    "sdk_types",
    "sync_await",
    "unknown_checking_proxy",
]

# name here -> (module, name there), imported on first use
_POLICY_SDK: Final = {
    "NotApplicableError": ("pulumi_policy.policy", "_NotApplicableError"),
    "unknown_checking_proxy": ("pulumi_policy.proxy", "unknown_checking_proxy"),
    "UNKNOWN_STRING_VALUE": ("pulumi_policy.proxy", "UNKNOWN_STRING_VALUE"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _POLICY_SDK[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
