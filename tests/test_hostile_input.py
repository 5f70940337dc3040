"""Hostile stack files (issue 13): each case a fuzzer once crashed or hung the CLI on is a test here.

Every bad input must end in exit 2 with one line per problem (file, line, what is wrong), never a
traceback and never a hang; a crash inside mlfabric is exit 3 with one line and a hint to rerun with
``--debug``. The CLI runs in-process (typer's runner) except where a real process is the point.
"""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner, Result

from mlfabric import stackfile
from tests.helpers import ROOT

# A small, complete AWS stack file owned by these tests (the example stacks change with the product).
DEV_STACK = """\
# a stack file as a user writes it
config:
  aws:region: us-east-1
  mlfabric:platform:
    spec_version: 1
    name: fraud
    environment: dev
    cloud: aws
    region: us-east-1
    tags: {team: risk-ml, cost-center: "4711"}
    storage:
      buckets:
        - name: datasets
    training:
      gpu_pools:
        - name: l4
          accelerator: l4
          gpus_per_node: 1
          min_nodes: 0
          max_nodes: 4
    monitoring:
      notify: [ml-oncall@example.com]
"""


def invoke(*args: str) -> Result:
    from mlfabric.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def refused(result: Result) -> list[str]:
    """The stderr lines of a clean refusal (exit 2, no traceback), which the caller checks further."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.stderr.splitlines()


def write(tmp_path: Path, text: str | bytes, name: str = "Pulumi.hostile.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first ``needle`` in ``text``."""
    return text[:text.index(needle)].count("\n") + 1


def with_spec_line(old: str, new: str) -> str:
    """The dev stack with one line of its spec replaced (the YAML text as a user writes it)."""
    assert old in DEV_STACK, old
    return DEV_STACK.replace(old, new, 1)


# --- encodings and bytes -------------------------------------------------------------------------


def test_non_utf8_bytes_are_refused_with_byte_offset_and_line(tmp_path: Path) -> None:
    data = DEV_STACK.encode().replace(b"name: fraud", b"name: fr\xe4ud")
    offset = data.index(b"\xe4")
    path = write(tmp_path, data)
    lineno = data[:offset].count(b"\n") + 1
    [line] = refused(invoke("validate", str(path)))
    assert line == (f"{path}:{lineno}: not UTF-8 text at byte offset {offset} "
                    "(byte 0xe4; save the file as UTF-8)")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-be", "utf-8-sig"])
def test_utf16_utf32_and_utf8_with_a_bom_are_read(tmp_path: Path, codec: str) -> None:
    text = DEV_STACK.replace("name: fraud", "name: fraud  # café ✓")
    boms = {"utf-16-be": codecs.BOM_UTF16_BE, "utf-32-be": codecs.BOM_UTF32_BE}
    data = boms.get(codec, b"") + text.encode(codec)
    result = invoke("validate", str(write(tmp_path, data)))
    assert result.exit_code == 0, result.output


def test_utf16_without_a_bom_is_refused_not_guessed(tmp_path: Path) -> None:
    path = write(tmp_path, DEV_STACK.encode("utf-16-le"))
    [line] = refused(invoke("validate", str(path)))
    assert line.startswith(f"{path}:1:") and "control character U+0000 at byte offset 1" in line


@pytest.mark.parametrize(("raw", "char"), [(b"\x00", "U+0000"), (b"\x1b[31m", "U+001B"), (b"\x07", "U+0007")])
def test_control_characters_are_refused_with_line_and_byte_offset(tmp_path: Path, raw: bytes, char: str) -> None:
    data = DEV_STACK.encode().replace(b"region: us-east-1", b"region: us-east-1" + raw)
    offset = data.index(raw)
    path = write(tmp_path, data)
    [line] = refused(invoke("plan", "--file", str(path)))
    lineno = data[:offset].count(b"\n") + 1
    assert line.startswith(f"{path}:{lineno}:") and f"control character {char} at byte offset {offset}" in line


def test_random_binary_is_refused_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, bytes(range(256)) * 4)
    [line] = refused(invoke("validate", str(path)))
    assert line == f"{path}:2: not UTF-8 text at byte offset 128 (byte 0x80; save the file as UTF-8)"


# --- aliases, nesting, size ----------------------------------------------------------------------


def test_an_alias_cycle_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, with_spec_line("tags: {team: risk-ml, cost-center: \"4711\"}", "tags: &t {a: *t}"))
    [line] = refused(invoke("validate", str(path)))
    assert line == f"{path}:{line_of(DEV_STACK, 'tags:')}: alias *t refers to a value that contains it (a cycle)"


def billion_laughs() -> str:
    lines = ["config:", "  lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n  mlfabric:platform: {tags: *l9}\n"


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_billion_laughs_alias_bomb_is_refused_in_well_under_a_second(tmp_path: Path, command: str) -> None:
    path = write(tmp_path, billion_laughs())
    started = time.perf_counter()
    [line] = refused(invoke(command, "--file", str(path)))
    assert time.perf_counter() - started < 0.5
    assert line.startswith(f"{path}:") and "too many values: more than 50,000 after expanding aliases" in line


def test_aliases_within_the_limits_work_and_merge_keys_merge(tmp_path: Path) -> None:
    text = DEV_STACK.replace("tags: {team: risk-ml, cost-center: \"4711\"}",
                             "tags: &t {team: risk-ml, cost-center: \"4711\"}")
    text = text.replace("    storage:\n", "    x-defaults: &pool {min_nodes: 0, max_nodes: 4}\n    storage:\n")
    loaded = stackfile.load(write(tmp_path, text))
    assert loaded.spec_data["tags"] == {"team": "risk-ml", "cost-center": "4711"}
    merged = stackfile.parse_yaml("a: &a {x: 1, y: 2}\nb: {<<: *a, y: 3}\n", "f")
    assert merged["b"] == {"x": 1, "y": 3}


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_1000_levels_deep_is_refused(tmp_path: Path, style: str) -> None:
    if style == "flow":
        body = "config:\n  mlfabric:platform: {tags: " + "[" * 1000 + "]" * 1000 + "}\n"
    else:
        body = "config:\n  mlfabric:platform:\n" + "".join("  " * (i + 2) + f"k{i}:\n" for i in range(1000))
    [line] = refused(invoke("validate", str(write(tmp_path, body))))
    assert line.endswith(f": nested more than {stackfile.MAX_DEPTH} levels deep")


def test_100k_tags_are_refused_quickly(tmp_path: Path) -> None:
    data = yaml.safe_load(DEV_STACK)
    data["config"]["mlfabric:platform"]["tags"] = {f"tag{i}": "x" for i in range(100_000)}
    path = write(tmp_path, yaml.safe_dump(data))
    started = time.perf_counter()
    for command in ("validate", "plan"):
        [line] = refused(invoke(command, "--file", str(path)))
        assert line == f"{path}: larger than 1024 KiB; a stack file this size is not a platform spec"
    compact = write(tmp_path, "config:\n  mlfabric:platform:\n    tags: {" + ",".join(f"t{i}: x" for i in range(100_000))
                    + "}\n", "Pulumi.compact.yaml")
    [line] = refused(invoke("plan", "--file", str(compact)))
    assert "too many values" in line
    assert time.perf_counter() - started < 10


# --- values Pulumi would not pass, YAML 1.1 surprises --------------------------------------------


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_binary_in_a_spec_string_is_refused_by_validate_and_plan_alike(tmp_path: Path, command: str) -> None:
    path = write(tmp_path, with_spec_line("name: fraud", "name: !!binary ZnJhdWQ="))
    assert refused(invoke(command, "--file", str(path))) == [
        f"{path}:{line_of(DEV_STACK, 'name: fraud')}: tag !!binary is not supported: config values are JSON "
        "(strings, numbers, booleans, null, lists, mappings)"]


@pytest.mark.parametrize("command", ["plan", "check", "cost"])
def test_a_date_in_another_config_key_is_the_string_pulumi_passes(tmp_path: Path, command: str) -> None:
    path = write(tmp_path, DEV_STACK.replace("config:\n", "config:\n  mlfabric:owner-since: 2024-01-01\n", 1))
    assert stackfile.load(path).config["mlfabric:owner-since"] == "2024-01-01"
    result = invoke(command, "--file", str(path))
    assert result.exit_code == 0, result.output


def test_a_set_in_another_config_key_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, DEV_STACK.replace("config:\n", "config:\n  mlfabric:owners: !!set {a, b}\n", 1))
    [line] = refused(invoke("plan", "--file", str(path)))
    assert line.startswith(f"{path}:{line_of(DEV_STACK, 'config:') + 1}: tag !!set is not supported")


def test_sexagesimal_is_not_a_number(tmp_path: Path) -> None:
    path = write(tmp_path, with_spec_line("max_nodes: 4", "max_nodes: 1:30"))
    assert refused(invoke("validate", str(path))) == [
        "training.gpu_pools[0].max_nodes: input should be a valid integer, unable to parse string as an integer "
        "(got '1:30')"]


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, with_spec_line("environment: dev", "environment: dev\n    environment: prod"))
    first = line_of(DEV_STACK, "environment: dev")
    assert refused(invoke("validate", str(path))) == [
        f"{path}:{first + 1}: duplicate key 'environment' (first on line {first}; YAML does not allow repeating a key)"]


def test_a_leading_zero_number_is_ambiguous_and_refused(tmp_path: Path) -> None:
    path = write(tmp_path, with_spec_line("max_nodes: 4", "max_nodes: 0777"))
    [line] = refused(invoke("validate", str(path)))
    assert line == (f"{path}:{line_of(DEV_STACK, 'max_nodes: 4')}: ambiguous number 0777: YAML 1.1 reads it as octal, YAML 1.2 as decimal; "
                    "quote it, or write 0o777 for octal")


def test_yaml_12_core_schema_scalars() -> None:
    data = stackfile.parse_yaml("a: yes\nb: off\nc: 0o17\nd: 1_000\ne: 1:30\nf: ~\ng: True\nh: 2001-12-14 21:59:43\n", "f")
    assert data == {"a": "yes", "b": "off", "c": 15, "d": 1000, "e": "1:30", "f": None, "g": True,
                    "h": "2001-12-14 21:59:43"}


def test_a_yaml_11_directive_cannot_switch_the_rules() -> None:
    with pytest.raises(stackfile.StackFileError) as refusal:
        stackfile.parse_yaml("%YAML 1.1\n---\nmax_nodes: 1:30\n", "f")
    assert refusal.value.problems == ["f:2: %YAML 1.1: stack files are read as YAML 1.2"]


def test_an_unquoted_kubernetes_version_says_to_quote_it(tmp_path: Path) -> None:
    path = write(tmp_path, with_spec_line("    training:\n", "    training:\n      cluster: {kubernetes_version: 1.30}\n"))
    assert refused(invoke("validate", str(path))) == [
        "training.cluster.kubernetes_version: input should be a valid string "
        "(got 1.3; quote it in the stack file: unquoted, YAML reads it as a number)"]


# --- messages and paths --------------------------------------------------------------------------


def test_a_100kb_value_is_quoted_at_most_about_120_characters(tmp_path: Path) -> None:
    path = write(tmp_path, with_spec_line("    region: us-east-1", "    region: " + "x" * 100_000))
    lines = refused(invoke("validate", str(path)))
    assert lines and all(len(line) < 400 for line in lines), [len(line) for line in lines]
    assert any(line.endswith(" characters))") for line in lines), lines


def test_a_100kb_unknown_key_is_elided_too(tmp_path: Path) -> None:
    path = write(tmp_path, with_spec_line("    region: us-east-1", "    region: us-east-1\n    ? " + "k" * 100_000 + "\n    : 1"))
    [line] = refused(invoke("validate", str(path)))
    assert line.startswith("kkkk") and len(line) < 1000 and "... (100000 characters): unknown key (allowed: " in line


def test_a_directory_is_named_a_directory(tmp_path: Path) -> None:
    assert refused(invoke("plan", "--file", str(tmp_path))) == [f"{tmp_path}: is a directory, not a stack file"]


def test_a_fifo_is_not_opened_and_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "Pulumi.fifo.yaml"
    os.mkfifo(fifo)
    assert refused(invoke("validate", str(fifo))) == [f"{fifo}: is not a regular file (a device, FIFO or socket)"]


def test_dev_null_is_not_a_regular_file() -> None:
    assert refused(invoke("plan", "--file", os.devnull)) == [
        f"{os.devnull}: is not a regular file (a device, FIFO or socket)"]


def test_a_5000_character_file_name_is_one_line(tmp_path: Path) -> None:
    [line] = refused(invoke("validate", str(tmp_path / ("a" * 5000 + ".yaml"))))
    assert line.endswith("... (5000 characters)".replace("5000", str(len(str(tmp_path)) + 5006)) + ": file name too long")


def test_a_5000_character_stack_name_is_one_line() -> None:
    [line] = refused(invoke("plan", "-s", "a" * 5000))
    assert line.startswith("stack name 'aaaa") and line.endswith("at most 100 characters (got 5000)")


@pytest.mark.parametrize("name", ["a::b", "", "dev stack", "../dev", "a/b/c/d", "dev\x00"])
def test_stack_names_follow_pulumis_rules(name: str) -> None:
    [line] = refused(invoke("validate", "-s", name))
    assert line.startswith("stack name")


@pytest.mark.parametrize("name", ["dev", "my-org/dev", "my-org/mlfabric/dev", "feature_1.2"])
def test_qualified_stack_names_name_the_stack_file(name: str) -> None:
    assert stackfile.stack_name_problems(name) == []
    assert stackfile.stack_of(name) in ("dev", "feature_1.2")


def test_a_stack_file_named_with_colons_is_refused_before_it_reaches_a_urn(tmp_path: Path) -> None:
    path = write(tmp_path, DEV_STACK, "Pulumi.a::b.yaml")
    [line] = refused(invoke("plan", "--file", str(path)))
    assert line.startswith(f"{path}: stack name 'a::b': may contain only letters")


# --- secrets offline -----------------------------------------------------------------------------


@pytest.fixture
def secret_notify_stack(tmp_path: Path) -> Path:
    return write(tmp_path, with_spec_line("notify: [ml-oncall@example.com]",
                                          "notify: [{secure: v1:AAAAsecretCCCC}, ml-oncall@example.com]"))


@pytest.mark.parametrize("command", ["validate", "plan", "check"])
def test_a_secret_notify_target_skips_its_format_check_and_says_so(secret_notify_stack: Path, command: str) -> None:
    result = invoke(command, "--file", str(secret_notify_stack))
    assert result.exit_code == 0, result.output
    assert ("monitoring.notify[0]: encrypted value, check skipped offline "
            "(must be an e-mail address or an https:// webhook URL)") in " ".join(result.stdout.split())


def test_a_secret_stays_a_secret_in_plan_json(secret_notify_stack: Path) -> None:
    result = invoke("plan", "--file", str(secret_notify_stack), "--json", "-")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert stackfile.SECRET_PLACEHOLDER not in result.stdout and "v1:AAAAsecretCCCC" not in result.stdout
    assert plan["spec"]["monitoring"]["notify"] == ["[secret]", "ml-oncall@example.com"]
    assert any("check skipped offline" in note for note in plan["notes"])


def test_a_secret_in_a_field_no_placeholder_satisfies_is_still_refused(tmp_path: Path) -> None:
    path = write(tmp_path, with_spec_line("name: fraud", "name: {secure: v1:AAAA}"))
    [line] = refused(invoke("validate", str(path)))
    assert line.startswith("name: must be 3-20 lowercase") and "an encrypted value" in line


# --- exit codes: a crash is exit 3, one line, no traceback ---------------------------------------


class Boom(Exception):
    """The injected fault."""


def _boom(*_: Any, **__: Any) -> Any:
    raise Boom("injected fault\nwith a second line")


# command -> (arguments, what to break)
CRASHES: dict[str, tuple[list[str], str]] = {
    "validate": (["-s", "dev"], "mlfabric.stackfile.load"),
    "plan": (["-s", "dev"], "mlfabric.stackfile.load"),
    "check": (["-s", "dev"], "mlfabric.check.command.check_source"),
    "cost": (["-s", "dev"], "mlfabric.stackfile.load"),
    "preflight": (["-s", "dev"], "mlfabric.stackfile.load"),
    "verify": (["-s", "dev", "--outputs", "outputs.json"], "mlfabric.stackfile.load"),
    "diff": (["a.json", "b.json"], "mlfabric.diff.diff_files"),
    "schema": ([], "mlfabric.cli.json_schema"),
    "report": (["-s", "dev"], "mlfabric.stackfile.load"),
}


def test_the_crash_table_covers_every_command() -> None:
    from mlfabric.cli import app

    assert set(typer.main.get_command(app).commands) == set(CRASHES)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", sorted(CRASHES))
def test_every_command_exits_3_with_one_line_on_a_crash(monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    args, target = CRASHES[command]
    monkeypatch.setattr(target, _boom)
    monkeypatch.delenv("MLFABRIC_DEBUG", raising=False)
    result = invoke(command, *args)
    assert result.exit_code == 3, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "internal error: Boom: injected fault with a second line",
        "run with --debug for the traceback (mlfabric --debug COMMAND ...)",
    ]


def test_a_crash_in_check_is_not_a_policy_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlfabric.check.command.check_source", _boom)
    assert invoke("check", "-s", "dev").exit_code == 3


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlfabric.stackfile.load", _boom)
    result = invoke("--debug", "validate", "-s", "dev")
    assert isinstance(result.exception, Boom)


CRASHING_PROCESS = (
    "import sys\n"
    "import mlfabric.stackfile as stackfile\n"
    "def boom(*args, **kwargs):\n"
    "    raise RuntimeError('injected fault')\n"
    "stackfile.load = boom\n"
    "from mlfabric.cli import main\n"
    "sys.argv = ['mlfabric', *sys.argv[1:]]\n"
    "main()\n"
)


def test_a_real_process_exits_3_without_a_traceback_and_shows_it_with_debug() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", CRASHING_PROCESS, *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False)

    quiet = run("validate", "-s", "dev")
    assert quiet.returncode == 3 and "Traceback" not in quiet.stderr
    assert quiet.stderr.splitlines()[0] == "internal error: RuntimeError: injected fault"
    loud = run("--debug", "validate", "-s", "dev")
    assert "Traceback" in loud.stderr and "injected fault" in loud.stderr
