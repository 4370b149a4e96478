"""`synapse run ... --save-test`: keep the run as a test that passes right away."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from synapse_sdk.cli import main

ALPHA = Path(__file__).parents[1] / "plugins" / "sample_plugins" / "alpha"


def test_save_test_writes_a_passing_test_and_refuses_to_clobber_it(tmp_path, capsys, monkeypatch):
    root = tmp_path / "alpha"
    shutil.copytree(ALPHA, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNAPSE_HOME", raising=False)

    assert main(["run", str(root), "greet", "-p", "name=bob", "--save-test"]) == 0
    err = capsys.readouterr().err
    test_file = root / "tests" / "test_saved_alpha_greet.py"
    assert f"{test_file}" in err and "replayed once: matches" in err

    assert main(["run", str(root), "greet", "-p", "name=bob", "--save-test"]) == 2
    err = capsys.readouterr().err
    assert "exists already" in err and "--overwrite-test" in err
    argv = ["run", str(root), "greet", "-p", "name=eve", "--save-test", "--overwrite-test"]
    assert main(argv) == 0

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "eve" in test_file.read_text()


def test_save_test_needs_local_mode(tmp_path, capsys):
    assert main(["run", str(ALPHA), "greet", "--mode", "task", "--save-test"]) == 2
    assert "--save-test records what the run reads" in capsys.readouterr().err
