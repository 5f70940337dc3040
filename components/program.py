"""The Pulumi program: the spec for this stack -> MLPlatform. ``__main__.py`` runs ``run()``
under the engine; ``mlfabric plan`` runs the very same function under the mock runtime."""

from __future__ import annotations

import pulumi

from mlfabric.components.platform import MLPlatform
from mlfabric.components.spec import SPEC_CONFIG_KEY, SpecError, parse_spec

MISSING_GCP_PROJECT = "gcp.project: required on gcp when the stack has no gcp:project config (got nothing)"


def run() -> None:
    namespace, key = SPEC_CONFIG_KEY.split(":")
    raw = pulumi.Config(namespace).get_object(key)
    if raw is None:
        raise pulumi.RunError(f"config {SPEC_CONFIG_KEY} is missing: the stack file holds no spec")
    try:
        spec = parse_spec(raw)
    except SpecError as error:
        # RunError ends the program with these lines and no traceback; nothing is declared.
        raise pulumi.RunError("invalid spec:\n" + "\n".join(error.problems)) from None
    # The GCP project is the one account-like value a provider config may supply instead of the spec.
    account = spec.gcp.project if spec.gcp and spec.gcp.project else None
    if spec.cloud == "gcp" and account is None:
        account = pulumi.Config("gcp").get("project")
        if account is None:
            raise pulumi.RunError(f"invalid spec:\n{MISSING_GCP_PROJECT}")
    platform = MLPlatform(spec.base_name, spec, account=account)
    for name, value in platform.stack_outputs().items():
        pulumi.export(name, value)
