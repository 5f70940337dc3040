"""Kubernetes version calendars: which minor versions each managed service supports, until when.

Each cloud's home keeps its service's calendar as data (``components/<cloud>/kubernetes_versions.json``)
with a source and an as-of date per row; its kit hands it over as ``kit.kubernetes_calendar``. The
calendar decides three things:

- the default version of a new cluster: ``default`` in the file, pinned per mlfabric release (the
  newest version in standard support when the file was last updated) and never computed from
  today's date, so a plan never changes by itself — a release that moves it says so in the
  CHANGELOG, because it is an in-place cluster upgrade;
- refusals: a version the calendar does not know, or one past the end of all support, is refused
  with the supported range;
- notes: a version in extended support (after standard support ends) is allowed with a note, and
  priced at the extended rate where the cloud charges one.

Only refusals and notes read "today", from :func:`today`, which tests pin with :func:`pinned_today`.
File format::

    {"service": "EKS", "default": "1.33", "as_of": "2026-12-01",
     "source": "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
     "extended_support_usd_per_hour": 0.60,
     "releases": [{"minor": "1.33", "released": "2025-05-29",
                   "end_of_standard": "2026-07-29", "end_of_extended": "2027-07-29",
                   "source": "https://..."}]}
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

_PINNED_TODAY: contextvars.ContextVar[datetime.date | None] = contextvars.ContextVar("pinned_today", default=None)


def today() -> datetime.date:
    """The date refusals and notes are judged on: the pinned one in tests, else the UTC date."""
    pinned = _PINNED_TODAY.get()
    return pinned if pinned is not None else datetime.datetime.now(datetime.UTC).date()


@contextlib.contextmanager
def pinned_today(day: datetime.date) -> Iterator[None]:
    """Judge versions as on ``day`` inside the block (tests; a what-if run)."""
    token = _PINNED_TODAY.set(day)
    try:
        yield
    finally:
        _PINNED_TODAY.reset(token)


@dataclass(frozen=True)
class KubernetesRelease:
    """One minor version on one managed service."""

    minor: str
    released: datetime.date
    end_of_standard: datetime.date
    # None: the service offers no extended/LTS support for this version
    end_of_extended: datetime.date | None
    source: str

    @property
    def end_of_support(self) -> datetime.date:
        return self.end_of_extended or self.end_of_standard


Phase = Literal["standard", "extended", "ended", "unreleased"]


@dataclass(frozen=True)
class VersionCalendar:
    """A managed Kubernetes service's minor versions, newest last."""

    service: str
    default: str
    as_of: datetime.date
    source: str
    releases: tuple[KubernetesRelease, ...]
    # what a cluster on a version in extended support costs per hour (None: no surcharge)
    extended_support_usd_per_hour: float | None = None
    standard_usd_per_hour: float | None = None

    def release(self, minor: str) -> KubernetesRelease | None:
        return next((r for r in self.releases if r.minor == minor), None)

    def phase(self, minor: str, on: datetime.date) -> Phase | None:
        """Where ``minor`` stands on ``on``; None when the calendar does not list it."""
        row = self.release(minor)
        if row is None:
            return None
        if on < row.released:
            return "unreleased"
        if on <= row.end_of_standard:
            return "standard"
        if row.end_of_extended is not None and on <= row.end_of_extended:
            return "extended"
        return "ended"

    def supported(self, on: datetime.date) -> list[str]:
        """Minor versions a new or existing cluster may run on ``on``, oldest first."""
        return [r.minor for r in self.releases if self.phase(r.minor, on) in ("standard", "extended")]

    def problem(self, minor: str, on: datetime.date) -> str | None:
        """Why ``minor`` cannot be used on ``on`` (with the supported range), or None."""
        phase = self.phase(minor, on)
        supported = self.supported(on)
        span = f"{supported[0]} to {supported[-1]}" if supported else "none"
        if phase is None:
            return f"{self.service} does not offer this version (supported on {on}: {span}; got {minor!r})"
        if phase == "unreleased":
            return f"{self.service} has not released this version yet (supported on {on}: {span}; got {minor!r})"
        if phase == "ended":
            row = self.release(minor)
            assert row is not None
            return (f"{self.service} support ended on {row.end_of_support} "
                    f"(supported on {on}: {span}; got {minor!r})")
        return None

    def note(self, minor: str, on: datetime.date) -> str | None:
        """A note for a version in extended support (allowed, but costs more and ends soon)."""
        if self.phase(minor, on) != "extended":
            return None
        row = self.release(minor)
        assert row is not None
        price = (f", billed at the extended-support rate of ${self.extended_support_usd_per_hour:.2f}/h"
                 if self.extended_support_usd_per_hour is not None else "")
        return (f"{self.service} {minor} is in extended support until {row.end_of_extended}{price}; "
                f"upgrade to {self.default} (standard support)")


def _date(value: Any, where: str) -> datetime.date:
    if not isinstance(value, str):
        raise ValueError(f"{where}: must be an ISO date string (got {value!r})")
    return datetime.date.fromisoformat(value)


def load_calendar(path: Path) -> VersionCalendar:
    """Read a calendar file (format in this module's docstring); ValueError names a bad field."""
    data = json.loads(path.read_text(encoding="utf-8"))
    releases = tuple(
        KubernetesRelease(
            minor=str(row["minor"]),
            released=_date(row["released"], f"{path.name}: releases[{i}].released"),
            end_of_standard=_date(row["end_of_standard"], f"{path.name}: releases[{i}].end_of_standard"),
            end_of_extended=(_date(row["end_of_extended"], f"{path.name}: releases[{i}].end_of_extended")
                             if row.get("end_of_extended") else None),
            source=str(row.get("source") or data["source"]),
        )
        for i, row in enumerate(data["releases"])
    )
    calendar = VersionCalendar(
        service=str(data["service"]),
        default=str(data["default"]),
        as_of=_date(data["as_of"], f"{path.name}: as_of"),
        source=str(data["source"]),
        releases=tuple(sorted(releases, key=lambda r: tuple(int(p) for p in r.minor.split(".")))),
        extended_support_usd_per_hour=data.get("extended_support_usd_per_hour"),
        standard_usd_per_hour=data.get("standard_usd_per_hour"),
    )
    if calendar.release(calendar.default) is None:
        raise ValueError(f"{path.name}: default {calendar.default!r} is not one of its releases")
    return calendar
