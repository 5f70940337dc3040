"""The README's policy table (``python -m mlfabric.reference`` splices it in): every rule of the pack,
its clouds, what it checks, and its enforcement per environment from the pack's config files.
"""

from __future__ import annotations

from mlfabric.check.config import PackConfig, config_dir, load_pack_config

ENVIRONMENTS = ("dev", "staging", "prod")
_CLOUD_NAMES = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}


def _levels_by_environment() -> dict[str, dict[str, str]]:
    """Rule id -> environment -> effective enforcement, from policies/config/<env>.json."""
    from mlfabric.policies.rules import POLICIES

    directory = config_dir()
    table: dict[str, dict[str, str]] = {p.name: {} for p in POLICIES}
    for environment in ENVIRONMENTS:
        path = directory / f"{environment}.json"
        config = load_pack_config(path) if path.is_file() else PackConfig()
        for policy in POLICIES:
            table[policy.name][environment] = config.enforcement(policy)
    return table


def rules_markdown() -> str:
    """The README's policy table: id, clouds, what it checks, enforcement per environment."""
    from mlfabric.policies.rules import POLICIES, rules_per_cloud

    levels = _levels_by_environment()
    counts = rules_per_cloud()
    lines = [
        f"{len(POLICIES)} rules (AWS {counts['aws']}, GCP {counts['gcp']}, Azure {counts['azure']}; a "
        "cross-cloud rule counts for each of its clouds). Enforcement is per environment, from "
        "`policies/config/<env>.json` (dev / staging / prod).",
        "",
        "| Rule | Clouds | What it checks | Enforcement (dev / staging / prod) |",
        "|---|---|---|---|",
    ]
    for policy in POLICIES:
        info = policy.info
        clouds = ", ".join(_CLOUD_NAMES[c] for c in info.clouds)
        what = info.description.replace("|", "\\|")
        enforcement = " / ".join(levels[info.id][e] for e in ENVIRONMENTS)
        lines.append(f"| `{info.id}` | {clouds} | {what} | {enforcement} |")
    return "\n".join(lines) + "\n"
