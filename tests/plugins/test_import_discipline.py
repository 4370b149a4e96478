"""`import synapse_sdk.plugins` imports no optional dependency and prints nothing."""

import json
import subprocess
import sys

OPTIONAL = [
    "ipywidgets",
    "IPython",
    "pytest",
    "syrupy",
    "ray",
    "rich",
    "httpx",
    "numpy",
    "tqdm",
    "click",
    "typer",
    "fastapi",
    "uvicorn",
    "yaml",
    "pydantic",
]

PROBE = """
import sys, json
import synapse_sdk.plugins
import synapse_sdk.plugins.enums, synapse_sdk.plugins.types, synapse_sdk.plugins.errors
print(json.dumps(sorted(m for m in {mods} if m in sys.modules)))
"""


def test_core_import_loads_no_optional_or_heavy_module():
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", PROBE.format(mods=OPTIONAL)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(proc.stdout) == []
    assert proc.stderr == ""
