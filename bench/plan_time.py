"""Cold `mlfabric plan` per example stack: whole-process wall time and peak memory, median of 5.

Prints a table; figures go into bench/RESULTS.md by hand with the machine and date. Not a test.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def one_run(stack: str) -> tuple[float, float, int]:
    """(seconds, peak MiB, resources) of one cold `mlfabric plan -s STACK --json -` process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "mlfabric", "plan", "-s", stack, "--json", "-"], cwd=ROOT, stdout=out, stderr=err
        )
        # wait4 gives this child's own peak RSS (ru_maxrss, KiB on Linux).
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        if status != 0:
            err.seek(0)
            raise SystemExit(f"plan -s {stack} failed: {err.read().decode()[-500:]}")
        out.seek(0)
        resources = int(json.load(out)["summary"]["resources"])
    return elapsed, usage.ru_maxrss / 1024, resources


def main() -> None:
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    print(f"# cold `mlfabric plan`, median of {RUNS} — {platform.node()} {platform.machine()}, "
          f"{os.cpu_count()} cpus, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    print(f"{'stack':<12} {'resources':>9} {'wall s (median)':>16} {'min s':>7} {'peak MiB (max)':>15}")
    for stack in stacks:
        runs = [one_run(stack) for _ in range(RUNS)]
        times = [r[0] for r in runs]
        print(f"{stack:<12} {runs[0][2]:>9} {statistics.median(times):>16.2f} {min(times):>7.2f} "
              f"{max(r[1] for r in runs):>15.0f}")


if __name__ == "__main__":
    main()
