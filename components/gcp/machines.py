"""The Compute Engine machine types mlfabric accepts on GCP, as data (``machine_types.json``, with
source and date), and the nearest known names for a refusal. SDK-free: spec rules and serving use it."""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

DATA: Final = Path(__file__).with_name("machine_types.json")
# Longer input is cut before matching: a name is never longer, and difflib is quadratic.
_MATCH_CHARS: Final = 40


@dataclass(frozen=True)
class MachineType:
    """One predefined machine type: vCPUs and memory where the family publishes a fixed ratio."""

    name: str
    vcpus: int | None
    memory_gib: float | None
    shared_core: bool = False


@functools.cache
def machine_types() -> dict[str, MachineType]:
    """Every known machine type by name."""
    rows = json.loads(DATA.read_text(encoding="utf-8"))["machines"]
    return {
        row["name"]: MachineType(row["name"], row.get("vcpus"), row.get("memory_gib"), bool(row.get("shared_core")))
        for row in rows
    }


def machine_type(name: str) -> MachineType | None:
    return machine_types().get(name)


def nearest(name: str, count: int = 3) -> list[str]:
    """Up to ``count`` known names closest to ``name`` (difflib's ratio, best first)."""
    probe = name[:_MATCH_CHARS].lower()
    return difflib.get_close_matches(probe, list(machine_types()), n=count, cutoff=0.5)


def unknown_machine_message(name: str, what: str = "GCP machine type") -> str:
    """The refusal of a name Compute Engine does not sell (nearest names when there are any)."""
    close = nearest(name) if "\x00" not in name else []
    hint = f"did you mean {', '.join(close)}?" if close else "e.g. e2-standard-4, n2-standard-8, g2-standard-8"
    shown = repr(name) if len(name) <= 60 else f"{name[:57]!r}... ({len(name)} characters)"
    return f"not a {what} mlfabric knows: {hint} (got {shown})"
