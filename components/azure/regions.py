"""Azure region facts the spec rules and the storage concern share (SDK-free).

``PAIRED_REGIONS``: each region's pair, where geo-redundant storage (GRS, GZRS) keeps its
asynchronous copy. Azure decides the pair; a storage account cannot geo-replicate anywhere else (a copy
in another region needs object replication to a second account, which mlfabric does not build), so
``storage.replication_region`` accepts only the pair. Source:
https://learn.microsoft.com/azure/reliability/cross-region-replication-azure (Azure paired regions),
checked 2026-12-01. Regions without a pair (e.g. Israel Central, Qatar Central, Poland Central,
Italy North, Spain Central, Mexico Central) are absent: there is no geo-redundant storage there.
"""

from __future__ import annotations

from typing import Final

_PAIRS: Final = (
    ("westeurope", "northeurope"),
    ("eastus", "westus"),
    ("eastus2", "centralus"),
    ("northcentralus", "southcentralus"),
    ("westus2", "westcentralus"),
    ("uksouth", "ukwest"),
    ("francecentral", "francesouth"),
    ("germanywestcentral", "germanynorth"),
    ("swedencentral", "swedensouth"),
    ("switzerlandnorth", "switzerlandwest"),
    ("norwayeast", "norwaywest"),
    ("southeastasia", "eastasia"),
    ("japaneast", "japanwest"),
    ("koreacentral", "koreasouth"),
    ("australiaeast", "australiasoutheast"),
    ("canadacentral", "canadaeast"),
    ("centralindia", "southindia"),
    ("uaenorth", "uaecentral"),
    ("southafricanorth", "southafricawest"),
)
# westus3's pair is eastus, but eastus's pair is westus (a one-way pair).
PAIRED_REGIONS: Final[dict[str, str]] = dict(_PAIRS) | {b: a for a, b in _PAIRS} | {"westus3": "eastus"}
