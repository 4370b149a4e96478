"""README's main job, as written: train the digits example on the LocalBackend, then use it.

The commands are read from README.md (the first command's part after the install, and the
follow-up block), with `.venv/bin/synapse` replaced by this interpreter's `-m synapse_sdk.cli`.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the main job needs the 'examples' extra")

ROOT = Path(__file__).resolve().parents[2]
SYNAPSE = [sys.executable, "-m", "synapse_sdk.cli"]


def readme_commands() -> tuple[list[str], list[list[str]]]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    first = next(ln for ln in blocks[0].splitlines() if ln and not ln.startswith("#"))
    main_job = first.split("&&")[-1].strip()
    follow_up = [ln.split("#")[0].strip() for ln in blocks[1].splitlines()]
    return _argv(main_job), [_argv(c) for c in follow_up if c]


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == ".venv/bin/synapse", command
    return SYNAPSE + words[1:]


def test_readme_main_job_trains_then_infer_uses_the_model(tmp_path):
    main_job, follow_up = readme_commands()
    assert main_job[3:] == ["run", "examples/digits", "train", "--backend"]
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {k: v for k, v in os.environ.items() if k != "SYNAPSE_HOME"}
    env["NO_COLOR"] = "1"

    def run(argv):
        proc = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return proc

    trained = run(main_job)
    result = json.loads(trained.stdout)
    assert result["model_id"] == 1
    assert Path(result["stored_in"]) == (tmp_path / ".synapse").resolve()
    assert result["val_accuracy"] > 0.9
    assert "train: 100.0% (30/30)" in trained.stderr

    infer, export, models = (run(argv) for argv in follow_up)
    predicted = json.loads(infer.stdout)
    assert predicted["model"] == 1 and predicted["accuracy"] >= 0.8
    assert Path(json.loads(export.stdout)["path"]).is_file()
    assert models.stdout.splitlines()[1].split()[:3] == ["1", "digits", "digits-model.npz"]
