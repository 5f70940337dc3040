"""Huge specs are planned or refused in seconds (issue 13): timings of the CLI's own path.

- 1000 serving endpoints (AWS): refused by the documented scale limit (``mlfabric.plan.SCALE_LIMITS``)
  before any planning; and as many endpoints as the limit allows, planned;
- 100k tags: written the way a generator would (block style, ~2 MB: refused by the file-size limit)
  and as one compact flow mapping (under the size limit: refused by the value limit while parsing).

Each case runs the real command in-process (typer's runner, as the tests do) and prints its exit
code, wall time and first output line. Prints a table; not a test. Usage: ``python bench/bench_scale.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlfabric.plan import SCALE_LIMITS  # noqa: E402

ENDPOINTS = 1000
AT_LIMIT = SCALE_LIMITS[("serving", "endpoints")][0]
TAGS = 100_000


def endpoints_spec(count: int) -> dict[str, Any]:
    return {
        "spec_version": 1, "name": "fraud", "environment": "dev", "cloud": "aws", "region": "us-east-1",
        "registry": {"repositories": ["scorer"], "models": ["fraud-detector"]},
        "serving": {"endpoints": [
            {"name": f"ep{i:04d}", "model": "fraud-detector", "image": "scorer:1.0", "instance": "ml.m5.large",
             "max_replicas": 2}
            for i in range(count)
        ]},
    }


def tags_spec(count: int) -> dict[str, Any]:
    return {"spec_version": 1, "name": "fraud", "environment": "dev", "cloud": "aws", "region": "us-east-1",
            "tags": {f"tag{i}": "x" for i in range(count)}}


def run(*args: str) -> tuple[int, float, str]:
    from typer.testing import CliRunner

    from mlfabric.cli import app

    started = time.perf_counter()
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    seconds = time.perf_counter() - started
    lines = (result.stderr or result.stdout).strip().splitlines() or [""]
    return result.exit_code, seconds, lines[0] if len(lines[0]) <= 150 else lines[0][:147] + "..."


def main() -> None:
    run("validate", "-s", "dev")  # imports and first-plan warm-up, not measured
    run("plan", "-s", "dev")
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            f"{ENDPOINTS} endpoints": Path(tmp, "Pulumi.endpoints.yaml"),
            f"{AT_LIMIT} endpoints": Path(tmp, "Pulumi.limit.yaml"),
            f"{TAGS // 1000}k tags, block": Path(tmp, "Pulumi.tags.yaml"),
            f"{TAGS // 1000}k tags, flow": Path(tmp, "Pulumi.flow.yaml"),
        }
        paths = list(files.values())
        paths[0].write_text(yaml.safe_dump({"config": {"mlfabric:platform": endpoints_spec(ENDPOINTS)}}))
        paths[1].write_text(yaml.safe_dump({"config": {"mlfabric:platform": endpoints_spec(AT_LIMIT)}}))
        paths[2].write_text(yaml.safe_dump({"config": {"mlfabric:platform": tags_spec(TAGS)}}))
        # hex keys, no spaces: 100k tags in under the 1 MiB file limit, so the value limit refuses it
        paths[3].write_text("config:\n  mlfabric:platform: {name: fraud, cloud: aws, tags: {"
                            + ",".join(f"t{i:x}: x" for i in range(TAGS)) + "}}\n")
        print(f"{'case':<22} {'command':<9} {'exit':>4} {'seconds':>8}  first line")
        for label, path in files.items():
            size = path.stat().st_size
            for command in ("validate", "plan"):
                code, seconds, line = run(command, "--file", str(path))
                print(f"{label:<22} {command:<9} {code:>4} {seconds:>8.2f}  {line}")
            print(f"{'':<22} ({size / 1024:,.0f} KiB)")


if __name__ == "__main__":
    main()
