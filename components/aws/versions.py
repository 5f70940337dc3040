"""EKS's Kubernetes version calendar (``kubernetes_versions.json`` beside this module; SDK-free).

The file lists the minor versions EKS supports, with release, end of standard and end of extended
support dates and their sources, the pinned default (the newest version in standard support when
the file was last updated) and the control-plane prices per hour (standard and extended support).
It ships in the wheel as package data (``"mlfabric.components" = ["*/*.json"]``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

from mlfabric.components.kubernetes.versions import VersionCalendar, load_calendar

CALENDAR_FILE: Final = Path(__file__).with_name("kubernetes_versions.json")


@functools.cache
def eks_calendar() -> VersionCalendar:
    """The EKS calendar, read once per process."""
    return load_calendar(CALENDAR_FILE)
