"""Policy check time per resource: the CrossGuard pack evaluated offline (``mlfabric check``'s engine).

Each example stack, and the scaling benchmark's 100-endpoint spec, is planned once; then every rule
of the pack runs over its resources BENCH_RUNS times (default 5) under the stack environment's
policy config. Prints the median check time, per resource and per rule evaluation; not a test.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    from scaling import spec  # bench/ is on sys.path when this script runs

    from mlfabric import stackfile
    from mlfabric.check import check_plan
    from mlfabric.plan import Plan, plan_spec, plan_stack

    plans: list[tuple[str, Plan]] = [
        (path.name[len("Pulumi."):-len(".yaml")], plan_stack(stackfile.load(path)))
        for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
    ]
    plans.append(("scale-100", plan_spec(spec(100), stack="scale-100")))
    check_plan(plans[0][1])  # warm-up: the pack and pulumi_policy load once
    print(f"# policy check, median of {RUNS} — {platform.node()} {platform.machine()}, {os.cpu_count()} cpus, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    print(f"{'stack':<12} {'resources':>9} {'rules':>6} {'check s':>8} {'ms/resource':>12} {'µs/rule-resource':>17}")
    for name, plan in plans:
        seconds: list[float] = []
        rules = 0
        for _ in range(RUNS):
            started = time.perf_counter()
            report = check_plan(plan)
            seconds.append(time.perf_counter() - started)
            rules = len(report.evaluated)
        median = statistics.median(seconds)
        resources = len(plan.resources)
        print(f"{name:<12} {resources:>9} {rules:>6} {median:>8.3f} {1000 * median / resources:>12.3f} "
              f"{1e6 * median / (resources * max(rules, 1)):>17.2f}")


if __name__ == "__main__":
    main()
