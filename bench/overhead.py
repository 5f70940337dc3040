"""Toolkit overhead: mlfabric's plan of the AWS prod stack against the physical floor, same run.

The floor replays the very same registrations — types, logical names, parents and inputs taken from
the plan JSON — as generic ``pulumi.CustomResource`` / ``pulumi.ComponentResource`` /
``pulumi.ProviderResource`` registrations under the same mocks (``PlanMocks``, the recording
monitor, ``run_program``), after importing the same provider modules the plan used. Whatever is left
between the two is what mlfabric itself costs: the spec, the typed provider classes, the components.

Figures (median of BENCH_RUNS, default 5, runs alternating so machine noise hits both alike):
- whole process: ``python -m mlfabric plan -s prod --json FILE`` vs ``python bench/overhead.py --floor``;
- in process, after imports: the program's registrations only, per resource.

Prints a table; not a test. Usage: ``python bench/overhead.py [STACK]`` (default prod).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
sys.path.insert(0, str(ROOT))


def provider_classes(types: list[str]) -> list[tuple[str, str]]:
    """(SDK module, class) of each custom type token: the classes the typed code instantiated."""
    classes: set[tuple[str, str]] = set()
    for token in types:
        package, module, kind = [*token.split(":"), "", ""][:3]
        if package == "pulumi":
            if module == "providers":  # pulumi:providers:aws -> pulumi_aws.Provider
                classes.add((f"pulumi_{kind.replace('-', '_')}", "Provider"))
            continue
        sdk = f"pulumi_{package.replace('-', '_')}"
        if package == "kubernetes":  # rbac.authorization.k8s.io/v1 -> pulumi_kubernetes.rbac.v1
            group, _, version = module.partition("/")
            path = f"{group.split('.')[0]}.{version}"
        else:  # s3/bucket -> pulumi_aws.s3
            path = module.split("/")[0]
        classes.add((f"{sdk}.{path}" if path and path != "index" else sdk, kind))
    return sorted(classes)


def import_provider_classes(types: list[str]) -> None:
    """Really load them: the SDKs' submodules are lazy, so importing one alone would load nothing."""
    for module, kind in provider_classes(types):
        getattr(importlib.import_module(module), kind)


def floor(plan_path: Path, timed: bool = False) -> dict[str, Any]:
    """Replay the plan's registrations as generic resources under the same mocks (in this process);
    with ``timed``, replay twice and time the second (warm) replay."""
    started = time.perf_counter()
    document = json.loads(plan_path.read_text())
    records = [r for r in document["resources"] if r["type"] != "pulumi:pulumi:Stack"]
    import_provider_classes([r["type"] for r in records if r["custom"]])
    import pulumi

    from mlfabric.mocks import World
    from mlfabric.plan import run_program

    imported = time.perf_counter()

    def program() -> None:
        by_urn: dict[str, pulumi.Resource] = {}
        for record in records:
            opts = pulumi.ResourceOptions(parent=by_urn.get(record["parent"]))
            provider = by_urn.get(record["provider"].rsplit("::", 1)[0]) if record.get("provider") else None
            if provider is not None:
                opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=provider))  # type: ignore[arg-type]
            kind = record["type"]
            if kind.startswith("pulumi:providers:"):
                resource: pulumi.Resource = pulumi.ProviderResource(kind.rsplit(":", 1)[1], record["name"],
                                                                    record["inputs"], opts)
            elif record["custom"]:
                resource = pulumi.CustomResource(kind, record["name"], record["inputs"], opts)
            else:
                resource = pulumi.ComponentResource(kind, record["name"], None, opts)
            by_urn[record["urn"]] = resource

    world = World(project=document["project"], stack=document["stack"], region=document["region"])

    def replay() -> list[Any]:
        registered, _, _ = run_program(program, project=document["project"], stack=document["stack"], config={},
                                       secret_keys=[], world=world)
        return registered

    registered = replay()
    if not timed:
        return {}
    # Timed: a second replay, everything imported and warm (as the mlfabric side is measured).
    again = time.perf_counter()
    replay()
    done = time.perf_counter()
    return {"resources": sum(1 for r in registered if r.custom), "registrations": len(registered),
            "import_seconds": imported - started, "program_seconds": done - again}


def inprocess_mlfabric(stack: str) -> dict[str, Any]:
    """mlfabric's own plan in this process, imports first, then the program alone."""
    started = time.perf_counter()
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    loaded = stackfile.load(stackfile.resolve(stack, None, ROOT))
    plan_stack(loaded)  # warm-up: the components and provider submodules load on first use
    imported = time.perf_counter()
    result = plan_stack(loaded)
    done = time.perf_counter()
    return {"resources": len(result.custom_resources), "registrations": len(result.resources),
            "import_seconds": imported - started, "program_seconds": done - imported}


def _child(*args: str) -> tuple[float, dict[str, Any] | None]:
    """(wall seconds, JSON the child printed) of one fresh process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=err)
        _, status, _ = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        if status != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(args)} failed: {err.read().decode()[-800:]}")
        out.seek(0)
        text = out.read().decode().strip()
    return elapsed, json.loads(text.splitlines()[-1]) if text.startswith("{") else None


def main(stack: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        plan_json = Path(scratch) / "plan.json"
        whole_mlfabric: list[float] = []
        whole_floor: list[float] = []
        in_mlfabric: list[dict[str, Any]] = []
        in_floor: list[dict[str, Any]] = []
        for _ in range(RUNS):
            whole_mlfabric.append(_child("-m", "mlfabric", "plan", "-s", stack, "--json", str(plan_json))[0])
            whole_floor.append(_child(__file__, "--floor", str(plan_json))[0])
            in_mlfabric.append(_child(__file__, "--inprocess", stack)[1] or {})
            in_floor.append(_child(__file__, "--floor", str(plan_json), "--json")[1] or {})
    resources = in_mlfabric[0]["resources"]
    assert resources == in_floor[0]["resources"], (resources, in_floor[0]["resources"])
    ml_prog = statistics.median(r["program_seconds"] for r in in_mlfabric)
    fl_prog = statistics.median(r["program_seconds"] for r in in_floor)
    ml_whole = statistics.median(whole_mlfabric)
    fl_whole = statistics.median(whole_floor)
    print(f"# toolkit overhead, stack {stack} ({resources} cloud resources, "
          f"{in_mlfabric[0]['registrations']} registrations), median of {RUNS} — {platform.node()} "
          f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"{'':<28} {'mlfabric':>10} {'floor':>10} {'ratio':>7}")
    print(f"{'whole process (s)':<28} {ml_whole:>10.2f} {fl_whole:>10.2f} {ml_whole / fl_whole:>7.2f}")
    print(f"{'program only (s)':<28} {ml_prog:>10.2f} {fl_prog:>10.2f} {ml_prog / fl_prog:>7.2f}")
    print(f"{'program ms per resource':<28} {1000 * ml_prog / resources:>10.2f} "
          f"{1000 * fl_prog / resources:>10.2f}")
    print(f"{'whole process ms/resource':<28} {1000 * ml_whole / resources:>10.2f} "
          f"{1000 * fl_whole / resources:>10.2f}")
    ml_first = statistics.median(r["import_seconds"] for r in in_mlfabric)
    fl_first = statistics.median(r["import_seconds"] for r in in_floor)
    print(f"{'imports + first run (s)':<28} {ml_first:>10.2f} {fl_first:>10.2f}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--floor"]:
        figures = floor(Path(arguments[1]), timed="--json" in arguments)
        if figures:
            print(json.dumps(figures))
    elif arguments[:1] == ["--inprocess"]:
        print(json.dumps(inprocess_mlfabric(arguments[1])))
    else:
        main(arguments[0] if arguments else "prod")
