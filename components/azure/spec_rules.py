"""What a spec must satisfy on Azure only (the kit's ``spec_rules``; SDK-free): Log Analytics'
retention range and the shape of an Entra principal."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from mlfabric.components.spec import Problems, principal_problems

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec

_PRINCIPAL: Final = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PRINCIPAL_EXAMPLE: Final = "an Entra object id (GUID)"


def _log_retention(spec: PlatformSpec) -> Problems:
    days = spec.monitoring.log_retention_days
    # A Log Analytics workspace keeps data 30 to 730 days.
    if 30 <= days <= 730:
        return []
    return [(("monitoring", "log_retention_days"), f"Log Analytics keeps 30 to 730 days (got {days})")]


def problems(spec: PlatformSpec) -> Problems:
    """Every Azure-only rule the spec breaks, as (field path, message)."""
    return [*_log_retention(spec), *principal_problems(spec, _PRINCIPAL, _PRINCIPAL_EXAMPLE)]
