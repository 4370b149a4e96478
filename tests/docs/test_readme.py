"""README examples run (STYLE 16): every ```python block executes, in order, in one namespace.

A block can opt out by starting with the line ``# not run: <reason>``.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def python_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return [b for b in blocks if not b.lstrip().startswith("# not run:")]


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert blocks, "README has python examples"
    namespace: dict = {"__name__": "readme"}
    for i, block in enumerate(blocks):
        code = compile(block, f"README.md python block {i + 1}", "exec")
        exec(code, namespace)


def test_readme_starts_with_the_two_setup_commands():
    text = README.read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "pip install" in commands[0]
    assert "pytest" in commands[1]


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
