"""Cells of the "keep a run as a test" notebook (issue 18), for ``notebooks/build.py``.

``CELLS`` is a list of ``(kind, source)`` cells like the other notebooks' in build.py. The
notebook works on a temporary copy of examples/digits, so building it writes nothing into the
repository. Build it alone with ``python notebooks/save_as_test.py`` (uses build.py's helpers).
"""

from __future__ import annotations

import sys

CELLS: list[tuple[str, str]] = [
    (
        "markdown",
        """# Keep a run as a test

Run an action in a panel, look at what it did, and keep that run as a pytest regression test
in one call: `synapse_testing.save_as_test(run, plugin, reads=...)`. The test replays the same
params on the kit's fake backend, seeded with what the run read, and compares the run with a
snapshot of this one. We work on a temporary copy of the digits example.""",
    ),
    (
        "code",
        """import shutil
import tempfile
from pathlib import Path

from synapse_sdk.clients import ReadRecorder
from synapse_sdk.plugins.runner import run_plugin_record
from synapse_testing import FakeBackend

work = Path(tempfile.mkdtemp(prefix="save-as-test-"))
plugin = Path(shutil.copytree(
    "../examples/digits", work / "digits", ignore=shutil.ignore_patterns("tests", "__pycache__")
))
backend = FakeBackend()  # a LocalBackend works the same way
run_plugin_record(plugin, "upload", {"limit": 200}, client=backend).raise_for_status()
run_plugin_record(plugin, "train", {"dataset": 1, "epochs": 10}, client=backend).raise_for_status()
reads = ReadRecorder(backend)  # remembers what runs through it read""",
    ),
    (
        "markdown",
        """Run `infer` in a panel whose client is the recorder, and look at the result.""",
    ),
    (
        "code",
        """from synapse_sdk.notebook import ActionPanel

panel = ActionPanel(plugin, "infer", client=reads, params={"samples": [0, 1, 2, 3, 4]})
run = panel.run_sync()
panel""",
    ),
    (
        "markdown",
        """Happy with it? Keep it. Three files go into the plugin's `tests/` folder: the test, its
snapshot and the backend reads it is seeded with. Before writing, the run is replayed once
as the test will replay it.""",
    ),
    (
        "code",
        """from synapse_testing import save_as_test

saved = save_as_test(run, plugin, reads=reads)
print(saved)
for name, size in saved.sizes.items():
    print(f"  {name}: {size:,} bytes")
print()
print(saved.test_file.read_text())""",
    ),
    (
        "markdown",
        """`pytest` passes right away. Then change what the action returns (here: confidences
rounded to 2 digits instead of 4) and the test fails with a diff of the run.""",
    ),
    (
        "code",
        """import subprocess
import sys


def pytest_tail(lines=12):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--color=no",
         str(saved.test_file)],
        cwd=work, capture_output=True, text=True,
    )
    print("\\n".join(done.stdout.splitlines()[-lines:]))


pytest_tail(3)
infer = plugin / "plugin" / "infer.py"
source = infer.read_text()
infer.write_text(source.replace("round(float(row.max()), 4)", "round(float(row.max()), 2)"))
pytest_tail(40)""",
    ),
    (
        "markdown",
        """Saving again under the same name does not clobber the test: it asks for
`overwrite=True` (or another `name=`).""",
    ),
    (
        "code",
        """try:
    save_as_test(run, plugin, reads=reads)
except FileExistsError as exc:
    print(exc)
shutil.rmtree(work)""",
    ),
]


def main() -> int:
    from pathlib import Path

    import nbformat
    from build import compact, execute, make

    here = Path(__file__).resolve().parent
    nb = compact(execute(make(CELLS), here))
    nbformat.write(nb, here / "save_as_test.ipynb")
    print("wrote notebooks/save_as_test.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
