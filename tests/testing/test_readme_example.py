"""The README's "Testing your plugin" example passes as a plugin repository's test file."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## Testing your plugin", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_readme_example_passes_and_its_snapshot_is_stable(pytester):
    pytest.importorskip("syrupy")
    pytester.makepyfile(test_fit=readme_example())
    first = pytester.runpytest("-W", "error", "-p", "no:cacheprovider", "--snapshot-update")
    first.assert_outcomes(passed=3)
    snapshot = (pytester.path / "__snapshots__" / "test_fit.ambr").read_text()
    assert "'weights': '<tempdir-1>/weights.bin'," in snapshot
    again = pytester.runpytest("-W", "error", "-p", "no:cacheprovider")
    again.assert_outcomes(passed=3)
    assert (pytester.path / "__snapshots__" / "test_fit.ambr").read_text() == snapshot
