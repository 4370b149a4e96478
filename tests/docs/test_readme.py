"""The README and docs/*.md run as written (STYLE 16).

- Every ```python block executes, in order, in one namespace per file (each file starts
  afresh, in an empty working directory). A block opts out by starting with the line
  ``# not run: <reason>``.
- Every ``synapse ...`` command in a bash or console block parses with the real CLI: a flag or
  a subcommand that does not exist fails here, not in a reader's terminal.
- Every relative link points at a file of the repository, every ``#anchor`` at a heading, and
  the pictures stay small.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def python_blocks(page: Path = README) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    return [b for b in blocks if not b.lstrip().startswith("# not run:")]


def shell_lines(page: Path) -> list[str]:
    """The command lines of the page's bash/console/sh blocks (prompts and comments removed)."""
    lines = []
    for block in re.findall(r"```(?:bash|console|sh)\n(.*?)```", page.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def synapse_commands(page: Path) -> list[list[str]]:
    """Each ``synapse`` invocation of the page's shell blocks, as argv without the program."""
    commands = []
    for line in shell_lines(page):
        for part in re.split(r"&&|\|\||;|\|", line):
            words = shlex.split(part, comments=True)
            if words and (words[0] == "synapse" or words[0].endswith("bin/synapse")):
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(page)
    if page == README:
        assert blocks, "README has python examples"
    namespace: dict = {"__name__": page.stem.lower()}
    for i, block in enumerate(blocks):
        code = compile(block, f"{_name(page)} python block {i + 1}", "exec")
        exec(code, namespace)


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_synapse_commands_use_flags_that_exist(page):
    from synapse_sdk.cli import build_parser

    for argv in synapse_commands(page):
        if "--help" in argv or "-h" in argv:
            continue
        parser = build_parser()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                parser.parse_args(argv)
            except SystemExit as exc:
                raise AssertionError(
                    f"{_name(page)}: `synapse {shlex.join(argv)}` does not parse:\n{err.getvalue()}"
                ) from exc


def test_the_pages_show_real_synapse_commands():
    """The check above is not vacuous: the README shows the commands a plugin author types."""
    seen = {argv[0] for argv in synapse_commands(README) if argv}
    assert {"run", "new", "actions", "backend"} <= seen


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_and_anchors_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not ours to check offline
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert not broken, f"{_name(page)}: broken links:\n" + "\n".join(broken)


def test_the_readme_shows_its_two_pictures_and_they_stay_small():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text())
    assert {"docs/img/panel.png", "docs/img/terminal.png"} <= set(images)
    for image in images:
        size = (ROOT / image).stat().st_size
        assert size < 100_000, f"{image} is {size // 1024} KiB: remake it smaller"


def test_readme_starts_with_the_two_setup_commands():
    text = README.read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "pip install" in commands[0]
    # the first command runs the main job: the digits example's train action
    assert ".venv/bin/synapse run examples/digits train" in commands[0]
    assert "pytest" in commands[1]


def test_every_docs_page_is_linked_from_the_readme():
    text = README.read_text()
    missing = [_name(page) for page in DOCS if f"]({_name(page)}" not in text]
    assert not missing, f"docs pages the README does not link: {missing}"


def test_quickstart_example_runs_and_reports_its_results():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "convert -> output_path=" in proc.stdout
    assert "file_count=7" in proc.stdout
    assert "train: 100.0% (50/50)" in proc.stdout
    assert re.search(r"run log: .*train\.jsonl \(\d+ events\)", proc.stdout)
