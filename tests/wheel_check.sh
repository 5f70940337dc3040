#!/usr/bin/env bash
# The installed package, not the checkout: build the wheel, install it with the [aws] extra into a fresh
# virtualenv, check that it adds only the `mlfabric` top-level package, and run `mlfabric check` and
# `mlfabric validate` on a copy of stacks/Pulumi.dev.yaml from directories outside the project (so the
# policy config must come from the installed package data, not from policies/ in the working tree).
#
#   PYTHON=.venv/bin/python tests/wheel_check.sh        (what `make wheel-check` runs)
#
# Prints each step's time. Set KEEP=1 to keep the temporary directory.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mlfabric-wheel-check.XXXXXX")"
if [[ -z "${KEEP:-}" ]]; then trap 'rm -rf "${WORK}"' EXIT; fi
unset PYTHONPATH  # nothing from the checkout may leak into the installed package's runs

started=$SECONDS
step_started=$SECONDS
step() {
    echo "wheel-check: $1 ($((SECONDS - step_started))s)"
    step_started=$SECONDS
}

# Build from a copy of the sources: setuptools keeps a build/ folder next to the sources, and stale files
# in it (a module since moved or deleted) would end up in the wheel.
mkdir -p "${WORK}/src" "${WORK}/dist"
tar -C "${ROOT}" -cf - --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist \
    --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache --exclude=.mypy_cache \
    --exclude=.ruff_cache --exclude=.hypothesis . | tar -C "${WORK}/src" -xf -
"${PYTHON}" -m pip wheel --quiet --no-deps -w "${WORK}/dist" "${WORK}/src"
wheels=("${WORK}"/dist/mlfabric-*.whl)
[[ ${#wheels[@]} -eq 1 && -f "${wheels[0]}" ]] || { echo "wheel-check: expected one mlfabric wheel, got: ${wheels[*]}" >&2; exit 1; }
step "built $(basename "${wheels[0]}")"

"${PYTHON}" -m venv "${WORK}/venv"
"${WORK}/venv/bin/python" -m pip install --quiet "${wheels[0]}[aws]"
step "installed it with [aws] into a fresh virtualenv"

# Only mlfabric at the top level: no components, policies or rules beside it in site-packages. (-I: the
# checkout's mlfabric.egg-info in the working directory must not stand in for the installed metadata.)
"${WORK}/venv/bin/python" -I - <<'EOF'
import sys
from importlib.metadata import distribution

dist = distribution("mlfabric")
top_level = (dist.read_text("top_level.txt") or "").split()
assert top_level == ["mlfabric"], f"top_level.txt lists {top_level}, expected only mlfabric"
installed = {str(f).split("/")[0] for f in dist.files or [] if not str(f).startswith("..")}
extra = sorted(name for name in installed if name != "mlfabric" and not name.endswith(".dist-info"))
assert not extra, f"the wheel installs top-level {extra} beside mlfabric"
config = sorted(str(f) for f in dist.files or [] if str(f).startswith("mlfabric/policies/config/"))
pack = {"mlfabric/policies/PulumiPolicy.yaml", "mlfabric/policies/requirements.txt"}
missing = pack - {str(f) for f in dist.files or []}
assert config and not missing, f"policy pack data missing from the wheel: config {config}, missing {sorted(missing)}"
print(f"wheel-check: top level {top_level}; policy config {', '.join(c.rsplit('/', 1)[-1] for c in config)}",
      file=sys.stderr)
EOF
step "the distribution adds only mlfabric (with the policy pack's data)"

mkdir -p "${WORK}/stack" "${WORK}/empty"
cp "${ROOT}/stacks/Pulumi.dev.yaml" "${WORK}/stack/Pulumi.dev.yaml"
(cd "${WORK}/stack" && "${WORK}/venv/bin/mlfabric" validate --file Pulumi.dev.yaml)
(cd "${WORK}/stack" && "${WORK}/venv/bin/mlfabric" check --file Pulumi.dev.yaml)
step "mlfabric validate and check --file Pulumi.dev.yaml (in the stack's directory)"
(cd "${WORK}/empty" && "${WORK}/venv/bin/mlfabric" check --file "${WORK}/stack/Pulumi.dev.yaml" --format json \
    --output "${WORK}/check.json")
"${WORK}/venv/bin/python" -I - "${WORK}/check.json" <<'EOF'
import json
import sys

report = json.load(open(sys.argv[1]))
assert report["passed"] and report["config"].endswith("mlfabric/policies/config/dev.json"), report["config"]
print(f"wheel-check: policy config from the installed package: {report['config']}", file=sys.stderr)
EOF
step "mlfabric check --file /abs/Pulumi.dev.yaml (from an empty directory)"

echo "wheel-check: ok in $((SECONDS - started))s"
