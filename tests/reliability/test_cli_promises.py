"""What a user of ``synapse`` meets in the first hour: the example's "Try it" line works in a
fresh directory, an action's params are listed by ``--help``, a failure is said once, hints
name only commands and flags that exist, a typo gets "did you mean", and ``| head`` ends
quietly."""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import synapse_sdk
from synapse_sdk.cli import build_parser, main
from tests.plugin_files import write_plugin

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples" / "digits"

CONFIG = """\
name: Shop
code: shop
actions:
  order:
    entrypoint: plugin.actions:order
    description: Order some items
  fail:
    entrypoint: plugin.actions:fail
  stock:
    entrypoint: plugin.actions:Stock
  dump:
    entrypoint: plugin.actions:dump
  probe:
    entrypoint: plugin.actions:probe
env:
  SHOP_NAME: corner
"""

ACTIONS = """
from typing import Literal

from pydantic import BaseModel, Field

from synapse_sdk.plugins import action
from synapse_sdk.plugins.actions.dataset import DatasetAction


class Address(BaseModel):
    city: str = Field(description="Where it goes")
    zip: str | None = None


class OrderParams(BaseModel):
    item: str = Field(description="What to order")
    count: int = Field(1, ge=1, le=99, description="How many")
    speed: Literal["slow", "fast"] = "slow"
    tags: list[str] = Field(default_factory=list)
    ship_to: Address | None = None


@action(params=OrderParams)
def order(params, ctx):
    return {"ordered": params.count}


@action
def fail(params, ctx):
    raise RuntimeError("the shelf is empty")


class Stock(DatasetAction):
    # a category action: its helpers use the backend

    def execute(self):
        return len(self.client.list_datasets())


@action
def probe(params, ctx):
    return {"env": ctx.env.get("SHOP_NAME")}


@action
def dump(params, ctx):
    return {"lines": [f"line {i}" for i in range(params.get("n", 10))]}
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_plugin(tmp_path / "shop", CONFIG, {"actions": ACTIONS})


def cli(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "SYNAPSE_HOME"}
    return subprocess.run(
        [sys.executable, "-m", "synapse_sdk.cli", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, **(env or {})},
        timeout=300,
    )


# -- the example's own "Try it" line -------------------------------------------------------------


def test_the_digits_try_it_line_works_in_a_fresh_directory_and_says_where_it_stores(tmp_path):
    pytest.importorskip("sklearn")
    header = (DIGITS / "config.yaml").read_text().splitlines()[1]
    command = re.search(r"Try it: (synapse run \S+ \S+)", header)
    assert command is not None, header
    argv = shlex.split(command.group(1))[1:]
    argv[1] = str(REPO / argv[1])  # the line is written for the repository's root
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    proc = cli(*argv, "-p", "epochs=2", cwd=fresh)
    assert proc.returncode == 0, proc.stderr
    home = fresh / ".synapse"
    assert f"note: storing runs and data in a new LocalBackend at {home}" in proc.stderr
    assert json.loads(proc.stdout)["stored_in"] == str(home)
    again = cli(*argv, "-p", "epochs=2", cwd=fresh)  # the second time it exists: no note
    assert again.returncode == 0 and "note:" not in again.stderr


def test_an_action_that_needs_a_backend_it_was_denied_names_the_flag(shop, capsys):
    assert main(["run", str(shop), "stock", "-p", "dataset=1", "--no-backend"]) == 1
    err = capsys.readouterr().err
    assert "BackendNotConfiguredError" in err
    assert "hint: run it again with --backend" in err
    assert "client=LocalBackend()" not in err  # the Python advice is for Python callers


@pytest.mark.parametrize("mode", ["local", "task", "job", "serve"])
def test_config_env_reaches_the_run_in_every_mode(shop, capsys, mode):
    if mode == "serve":
        pytest.importorskip("fastapi")
    assert main(["run", str(shop), "probe", "--mode", mode, "--no-backend"]) == 0
    assert json.loads(capsys.readouterr().out) == {"env": "corner"}


# -- run ... --help ------------------------------------------------------------------------------


def test_run_plugin_action_help_lists_the_params_with_types_defaults_and_descriptions(shop, capsys):
    assert main(["run", str(shop), "order", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: synapse run")
    assert "params of action 'order': Order some items" in out
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.startswith("  ")}
    assert re.search(r"item\s+str\s+required\s+What to order", rows["item"])
    assert re.search(r"count\s+int\s+1\s+How many \(>= 1, <= 99\)", rows["count"])
    assert re.search(r'speed\s+"slow"\|"fast"\s+"slow"', rows["speed"])
    assert re.search(r"tags\s+list\[str\]\s+\[\]", rows["tags"])
    assert re.search(r"ship_to\s+object\s+null", rows["ship_to"])
    assert re.search(r"ship_to\.city\s+str\s+required\s+Where it goes", rows["ship_to.city"])


def test_run_help_without_an_action_says_how_to_list_params(capsys):
    assert main(["run", "--help"]) == 0
    assert "synapse run PLUGIN ACTION --help lists the params" in capsys.readouterr().out


# -- errors ----------------------------------------------------------------------------------------


def test_a_failed_run_is_said_once(shop, capsys):
    assert main(["run", str(shop), "fail"]) == 1
    err = capsys.readouterr().err
    assert err.count("the shelf is empty") == 1
    assert "failed in" in err  # the run's end is still shown


@pytest.mark.parametrize(
    ("argv", "guess"),
    [
        (["runn", "x", "y"], "run"),
        (["action", "x"], "actions"),
        (["backend", "job"], "jobs"),
        (["backend", "jobs", "--status", "stal"], "stale"),
    ],
)
def test_a_misspelled_command_or_choice_gets_did_you_mean(capsys, argv, guess):
    assert main(argv) == 2
    assert f"hint: did you mean {guess!r}?" in capsys.readouterr().err


def _hint_texts() -> Iterator[tuple[str, int, str]]:
    """Every string given as ``hint=`` in synapse_sdk (the parts of f-strings too)."""
    root = Path(synapse_sdk.__file__).parent
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "hint":
                text = "".join(
                    part.value
                    for part in ast.walk(node.value)
                    if isinstance(part, ast.Constant) and isinstance(part.value, str)
                )
                yield str(path.relative_to(root.parent)), node.value.lineno, text


def _parser_for(words: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The (sub)parser ``synapse WORDS...`` reaches, and the words left after it."""
    parser = build_parser()
    rest = list(words)
    while rest:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or rest[0] not in subs[0].choices:
            break
        parser = subs[0].choices[rest.pop(0)]
    return parser, rest


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    found = {s for a in parser._actions for s in a.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _flags(sub)
    return found


def test_hints_name_only_commands_and_flags_that_exist():
    known_flags = _flags(build_parser())
    wrong = []
    for where, line, text in _hint_texts():
        for command in re.findall(r"`synapse ([^`]*)`", text):
            words = command.split()
            parser, _ = _parser_for(words)
            if parser.prog == "synapse":
                wrong.append(f"{where}:{line}: `synapse {command}`: no such command")
                continue
            own = {s for a in parser._actions for s in a.option_strings}
            wrong += [
                f"{where}:{line}: `synapse {command}`: {parser.prog} has no {word}"
                for word in words
                if word.startswith("--") and word.split("=")[0] not in own
            ]
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", text):
            if flag not in known_flags:
                wrong.append(f"{where}:{line}: {flag} is no flag of synapse")
    assert wrong == []


# -- pipes ----------------------------------------------------------------------------------------


def test_piping_into_head_ends_quietly(shop, tmp_path):
    command = (
        f"{shlex.quote(sys.executable)} -m synapse_sdk.cli run {shlex.quote(str(shop))} dump "
        "-p n=200000 --no-backend | head -2"
    )
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.stdout.splitlines() == ["{", '  "lines": [']
    assert "BrokenPipe" not in proc.stderr and "error" not in proc.stderr
    assert proc.returncode == 0


def test_synapse_actions_says_that_it_imports_the_plugin_code(capsys):
    assert main(["actions", "--help"]) == 0
    assert "Imports each action's code" in capsys.readouterr().out
