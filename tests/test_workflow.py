"""The CI workflow (.github/workflows/ci.yml): it parses, the pull-request job summary is wired as
documented, and every `mlfabric` command it runs exists with the options it passes.

The pr-summary job's shell steps run here for real under bash: the step that picks the touched stacks
against a throwaway git repository, the report step against a stand-in `mlfabric` that records its
arguments. What these tests cannot prove: GitHub's side (the expression syntax, the runner, how the
summary renders); only a run on GitHub shows that.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
# `mlfabric <command>` (also `.venv/bin/mlfabric` and `"${x}/mlfabric"`), not `python -m mlfabric.diff`
INVOCATION = re.compile(r"""\bmlfabric["']?[ \t]+([a-z][a-z-]*)([^\n]*)""")


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def scripts(workflow: dict[Any, Any]) -> list[str]:
    """Every step's `run` script, continuation lines joined."""
    return [step["run"].replace("\\\n", " ") for job in workflow["jobs"].values() for step in job["steps"]
            if "run" in step]


def step(workflow: dict[Any, Any], job: str, predicate: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in workflow["jobs"][job]["steps"] if predicate in (s.get("name") or ""))
    return found


def test_the_workflow_parses_and_keeps_its_jobs(workflow: dict[Any, Any]) -> None:
    # PyYAML (YAML 1.1) reads the `on:` key as True; GitHub reads it as "on".
    triggers = workflow["on"] if "on" in workflow else workflow[True]
    assert "pull_request" in triggers
    assert {"test", "policy-check", "pr-summary", "preview"} <= set(workflow["jobs"])


def test_the_pr_summary_job_runs_on_pull_requests_and_reports_into_the_step_summary(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["pr-summary"]
    assert job["if"] == "github.event_name == 'pull_request'"
    assert job["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    base = step(workflow, "pr-summary", "base commit")["run"]
    assert 'git worktree add --detach "${RUNNER_TEMP}/base" "${BASE_SHA}"' in base
    assert '.venv/bin/mlfabric plan -s "${stack}" --json "${RUNNER_TEMP}/base-plans/base-${stack}.json"' in base
    report = step(workflow, "pr-summary", "Report")["run"]
    assert '.venv/bin/mlfabric report -s "${stack}" "${against[@]}" --output "$GITHUB_STEP_SUMMARY"' in report


def mlfabric_help(command: str) -> str:
    result = subprocess.run([sys.executable, "-m", "mlfabric", command, "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, f"mlfabric {command} --help: {result.stderr}"
    return result.stdout


def test_every_mlfabric_command_in_the_workflow_exists_with_the_options_it_is_given(
    workflow: dict[Any, Any],
) -> None:
    used: dict[str, set[str]] = {}
    for script in scripts(workflow):
        for command, rest in INVOCATION.findall(script):
            used.setdefault(command, set()).update(re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest))
    # Options the report step passes through a bash array rather than on the command line.
    report_script = step(workflow, "pr-summary", "Report")["run"]
    used["report"] |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", " ".join(re.findall(r"against=\(([^)]*)\)",
                                                                                          report_script))))
    assert {"check", "plan", "report"} <= set(used)
    assert {"--base", "--new-stack", "--output"} <= used["report"]
    for command, options in sorted(used.items()):
        text = mlfabric_help(command)
        missing = sorted(o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text))
        assert not missing, f"mlfabric {command} has no {', '.join(missing)}"


# --- the pr-summary job's shell, run for real ------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}).stdout


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # GitHub runs `run:` with `bash -e {0}`.
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, **env})


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A repository with two stacks, a component and a README; the base commit's sha."""
    root = tmp_path / "repo"
    for name in ("stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml", "components/network.py", "README.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("v1\n")
    git(root, "init", "--quiet")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "base")
    return root, git(root, "rev-parse", "HEAD").strip()


CHANGES = [
    ({"stacks/Pulumi.dev.yaml": "v2\n"}, "dev"),
    ({"components/network.py": "v2\n"}, "dev prod"),
    ({"stacks/Pulumi.new.yaml": "v1\n", "README.md": "v2\n"}, "new"),
    ({"README.md": "v2\n"}, ""),
    ({"stacks/Pulumi.prod.yaml": None}, ""),  # deleted by the pull request: nothing to report
]


@pytest.mark.parametrize(("change", "stacks"), CHANGES, ids=["stack-file", "component", "new-stack", "readme",
                                                              "deleted-stack"])
def test_the_touched_stacks_are_those_whose_file_changed_or_all_when_the_library_changed(
    workflow: dict[Any, Any], repo: tuple[Path, str], tmp_path: Path, change: dict[str, str | None], stacks: str,
) -> None:
    root, base = repo
    for name, text in change.items():
        if text is None:
            (root / name).unlink()
        else:
            (root / name).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "change")
    output, summary = tmp_path / "output", tmp_path / "summary"
    result = run_step(step(workflow, "pr-summary", "touch")["run"], root,
                      {"BASE_SHA": base, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0, result.stderr
    assert output.read_text() == f"stacks={stacks}\n"
    assert summary.exists() == (stacks == "")


def test_the_report_step_passes_the_base_or_new_stack_and_fails_after_reporting_every_stack(
    workflow: dict[Any, Any], tmp_path: Path,
) -> None:
    runner_temp = tmp_path / "runner"
    (runner_temp / "base-plans").mkdir(parents=True)
    (runner_temp / "base-plans" / "base-dev.json").write_text("{}")
    (runner_temp / "base-plans" / "new-fresh").touch()
    calls = tmp_path / "calls"
    fake = tmp_path / "work" / ".venv" / "bin" / "mlfabric"
    fake.parent.mkdir(parents=True)
    # A stand-in that records its arguments and fails (exit 1) for the stack "bad".
    fake.write_text(f'#!/bin/bash\necho "$*" >> {shlex.quote(str(calls))}\n[ "$3" = bad ] && exit 1\nexit 0\n')
    fake.chmod(0o755)
    result = run_step(step(workflow, "pr-summary", "Report")["run"], tmp_path / "work",
                      {"STACKS": "dev bad fresh", "RUNNER_TEMP": str(runner_temp), "GITHUB_STEP_SUMMARY": "S"})
    assert result.returncode == 1
    assert calls.read_text().splitlines() == [
        f"report -s dev --base {runner_temp}/base-plans/base-dev.json --output S",
        "report -s bad --output S",
        "report -s fresh --new-stack --output S",
    ]
    assert "::warning::bad: no base plan" in result.stdout
