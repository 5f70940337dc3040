"""Scaling: plan time of specs with 1, 10, 50 and 100 serving endpoints and as many GPU pools.

Each size is planned in process (imports and first-use module loading paid once, by a warm-up plan),
BENCH_RUNS times (default 3); the figure is the median. Per-resource time must stay flat: the
100 case within 1.2x the per-resource time of the 10 case. Prints a table; not a test.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SIZES = (1, 10, 50, 100)
FLAT_LIMIT = 1.2
sys.path.insert(0, str(ROOT))


def spec(size: int) -> dict[str, Any]:
    """An AWS prod platform with ``size`` endpoints (canary, autoscaled, alarmed) and ``size`` GPU pools."""
    return {
        "name": "scale",
        "environment": "prod",
        "cloud": "aws",
        "region": "us-east-1",
        "training": {"gpu_pools": [
            {"name": f"p{i}", "accelerator": "t4", "min_nodes": 0, "max_nodes": 2} for i in range(size)]},
        "registry": {"repositories": ["scorer"], "models": ["scale-model"]},
        "serving": {"endpoints": [
            {"name": f"ep-{i}", "model": "scale-model", "image": "scorer:1.0", "instance": "ml.m5.large",
             "min_replicas": 2, "max_replicas": 4} for i in range(size)]},
        "monitoring": {"notify": ["ml-oncall@example.com"]},
    }


def measure(size: int) -> tuple[int, float]:
    """(cloud resources, median plan seconds) of the spec of one size."""
    from mlfabric.plan import plan_spec

    data = spec(size)
    times: list[float] = []
    resources = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        result = plan_spec(data, stack=f"scale-{size}")
        times.append(time.perf_counter() - started)
        resources = len(result.custom_resources)
    return resources, statistics.median(times)


def main() -> None:
    from mlfabric.plan import plan_spec

    plan_spec(spec(1), stack="warm-up")
    print(f"# scaling: AWS prod spec with N endpoints and N GPU pools, in process, median of {RUNS} — "
          f"{platform.node()} {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"{'N':>4} {'resources':>10} {'plan s':>8} {'ms/resource':>12} {'vs N=10':>8}")
    rows = [(size, *measure(size)) for size in SIZES]
    per_resource = {size: seconds / resources for size, resources, seconds in rows}
    for size, resources, seconds in rows:
        print(f"{size:>4} {resources:>10} {seconds:>8.2f} {1000 * per_resource[size]:>12.2f} "
              f"{per_resource[size] / per_resource[10]:>8.2f}")
    ratio = per_resource[100] / per_resource[10]
    verdict = "flat" if ratio <= FLAT_LIMIT else "NOT flat"
    print(f"per-resource time, N=100 vs N=10: {ratio:.2f}x ({verdict}; limit {FLAT_LIMIT}x)")


if __name__ == "__main__":
    main()
