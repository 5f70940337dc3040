"""Monthly cost of every example stack, idle and at full scale (a ceiling), from the offline plans.

Prints a markdown table (stack, cloud, region, idle, full scale, GPU share, completeness) for
bench/RESULTS.md and the README. Prices come from components/<cloud>/prices.json; a stack whose
region has no rows for some SKUs is "incomplete (N items unpriced)" and its totals are a floor.
Not a test.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "prod", "gcp-dev", "gcp-prod", "azure-dev", "azure-prod")


def main(stacks: list[str]) -> None:
    from mlfabric import stackfile
    from mlfabric.cost import estimate
    from mlfabric.plan import plan_stack

    print("| stack | cloud | region | idle $/month | full scale $/month (ceiling) | GPU at full scale | estimate |")
    print("|---|---|---|---|---|---|---|")
    for stack in stacks:
        result = estimate(plan_stack(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml")))
        print(f"| {stack} | {result.cloud} | {result.region} | {result.idle_usd:,.2f} | {result.full_usd:,.2f} | "
              f"{result.full_gpu_usd:,.2f} | {result.completeness()} |")


if __name__ == "__main__":
    main(sys.argv[1:] or list(STACKS))
