"""A real browser: Debian chromium on servers bound to 127.0.0.1.

- Voila serves a live ActionPanel: click Run, watch the bar move and reach 100%, cancel a
  second run.
- JupyterLab opens the committed notebooks in ``notebooks/`` without running them: an
  untrusted copy (what a fresh clone is) shows each panel's finished form and bars from its
  static HTML twin, a trusted copy renders the live widgets from the saved widget state; no
  output shows the ``VBox(children=...`` text.

Screenshots are kept in the test's tmp dir and in ``$SYNAPSE_ARTIFACTS`` (or
/tmp/synapse-artifacts). Skipped when chromium, Playwright, Voila or JupyterLab is missing;
``.ci/run`` installs chromium so CI runs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BAR = ".widget-hprogress .progress-bar"
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

LIVE_NOTEBOOK = """
import time

from pydantic import BaseModel, Field

from synapse_sdk.notebook import ActionPanel
from synapse_sdk.plugins import RuntimeContext, action


class LiveParams(BaseModel):
    steps: int = Field(30, ge=1, le=500, description="Outer steps")
    delay: float = Field(0.06, ge=0, le=1)
    tags: dict[str, int] = Field(default_factory=dict, description="JSON object")


@action(params=LiveParams, description="Floods progress: 1,000 events per step")
def live(params: LiveParams, ctx: RuntimeContext) -> dict:
    total = params.steps * 1000
    for i in range(params.steps):
        for j in range(1000):
            ctx.set_progress(i * 1000 + j + 1, total)
        ctx.set_metrics({"loss": 1.0 / (i + 1)})
        ctx.log("step", {"i": i})
        time.sleep(params.delay)
    return {"steps": params.steps, "events": total}


panel = ActionPanel(live)
panel
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _artifact_dir() -> Path:
    path = Path(
        os.environ.get("SYNAPSE_ARTIFACTS", Path(tempfile.gettempdir()) / "synapse-artifacts")
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def _needs_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")


@contextmanager
def _serve(name: str, args: list[str], root: Path, env: dict[str, str]) -> Iterator[int]:
    """Run ``python -m <args> --port=PORT`` in ``root`` until the port accepts; stop it after."""
    port = _free_port()
    log_path = root / f"{name}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", *args, f"--port={port}"],
        cwd=root,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited early:\n{log_path.read_text()}")
            try:  # a plain connect: a GET of a Voila page would execute the notebook
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _needs_browser()
    pytest.importorskip("voila", reason="needs voila (dev extra)")
    nbformat = pytest.importorskip("nbformat")
    root = tmp_path_factory.mktemp("voila")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(nbformat.v4.new_code_cell(LIVE_NOTEBOOK.strip()))
    nbformat.write(nb, root / "live.ipynb")
    args = ["voila", str(root / "live.ipynb"), "--no-browser", "--Voila.ip=127.0.0.1"]
    args.append("--ServerApp.allow_root=True")
    with _serve("voila", args, root, {"JUPYTER_PLATFORM_DIRS": "1"}) as port:
        yield f"http://127.0.0.1:{port}/"


def test_run_shows_the_bar_reaching_100_and_cancel_stops_a_second_run(voila_url, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = _artifact_dir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(voila_url, timeout=60_000)
            run = page.get_by_role("button", name="Run")
            cancel = page.get_by_role("button", name="Cancel")
            run.wait_for(timeout=60_000)
            status = page.locator(".synapse-status")

            # Inline validation in the page: bad JSON disables Run and says why, next to the field.
            tags = page.locator(".widget-textarea textarea").first
            tags.fill('{"a": "x"}')
            tags.blur()
            error = page.locator(".synapse-field-error").nth(2)
            error.get_by_text("a: Input should be a valid integer").wait_for(timeout=10_000)
            assert run.is_disabled()
            page.screenshot(path=str(tmp_path / "panel_invalid.png"), full_page=True)
            tags.fill('{"a": 1}')
            tags.blur()
            page.wait_for_function(
                "() => !document.querySelector('.synapse-action-panel button').disabled",
                timeout=10_000,
            )

            run.click()
            bar = page.locator(BAR).first
            bar.wait_for(state="attached", timeout=20_000)
            widths: list[str] = []
            deadline = time.monotonic() + 30
            while "Done in" not in status.inner_text():
                assert time.monotonic() < deadline, f"no success; bar widths seen: {widths}"
                widths.append(bar.evaluate("el => el.style.width"))
                time.sleep(0.1)
            final = bar.evaluate("el => el.style.width")
            page.screenshot(path=str(tmp_path / "panel_after_run.png"), full_page=True)

            percents = [float(w.rstrip("%")) for w in widths if w]
            assert any(0 < p < 100 for p in percents), f"bar never seen moving: {widths}"
            assert final == "100%"
            bar_text = page.locator(".synapse-bar-text").first.inner_text()
            assert bar_text.startswith("30000/30000 (100%) [00:0"), bar_text
            assert "it/s]" in bar_text
            assert "events" in page.locator(".synapse-result").inner_text()
            assert "loss" in page.locator(".synapse-metrics").inner_text()

            run.click()
            deadline = time.monotonic() + 30
            while True:  # cancel once the new run is well under way
                width = page.locator(BAR).first.evaluate("el => el.style.width")
                if width and 10 < float(width.rstrip("%")) < 100:
                    break
                assert time.monotonic() < deadline, f"second run did not start: {width}"
                time.sleep(0.05)
            assert cancel.is_enabled()
            cancel.click()
            page.wait_for_function(
                "() => document.querySelector('.synapse-status').innerText.includes('Cancelled')",
                timeout=20_000,
            )
            stopped = page.locator(BAR).first.evaluate("el => el.style.width")
            assert float(stopped.rstrip("%")) < 100
            assert (
                page.locator(".widget-hprogress.progress-warning, .progress-bar-warning").count()
                >= 1
            )
            assert "you stopped the run" in page.locator(".synapse-result").inner_text()
            assert run.is_enabled() and not cancel.is_enabled()
            page.screenshot(path=str(tmp_path / "panel_after_cancel.png"), full_page=True)
        finally:
            browser.close()
    for name in ("panel_invalid.png", "panel_after_run.png", "panel_after_cancel.png"):
        shutil.copy(tmp_path / name, shots / name)
    assert (tmp_path / "panel_after_cancel.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """JupyterLab over a copy of notebooks/: ``untrusted/`` as cloned, ``trusted/`` signed."""
    _needs_browser()
    pytest.importorskip("jupyterlab", reason="needs jupyterlab (dev extra)")
    nbformat = pytest.importorskip("nbformat")
    from nbformat.sign import NotebookNotary

    root = tmp_path_factory.mktemp("lab")
    data = root / "data"
    data.mkdir()
    notary = NotebookNotary(data_dir=str(data))
    for kind in ("untrusted", "trusted"):
        (root / kind).mkdir()
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            shutil.copy(path, root / kind / path.name)
            if kind == "trusted":
                # signatures are kept by content: the trusted copy must differ from the other
                nb = nbformat.read(root / kind / path.name, as_version=4)
                nb.metadata["test_copy"] = "trusted"
                notary.sign(nb)
                nbformat.write(nb, root / kind / path.name)
    env = {
        "JUPYTER_DATA_DIR": str(data),  # the notary's secret and signature db
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
    }
    args = [
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=",
        "--ServerApp.allow_root=True",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with _serve("jupyterlab", args, root, env) as port:
        yield f"http://127.0.0.1:{port}", root


@contextmanager
def _lab_page(url: str) -> Iterator[Any]:
    """A chromium page showing the notebook at ``url`` in JupyterLab."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(url, timeout=60_000)
            page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
            yield page
        finally:
            browser.close()


@pytest.mark.parametrize("name", ["quickstart", "example_plugin", "testing_with_the_kit"])
def test_a_committed_notebook_opened_in_jupyterlab_shows_its_finished_panels(lab, name, tmp_path):
    """An untrusted notebook (a fresh clone): JupyterLab renders no widget output, so the
    panel shows its static HTML twin: the form's values and the finished bars."""
    base, _root = lab
    with _lab_page(f"{base}/lab/tree/untrusted/{name}.ipynb?reset") as page:
        panel = page.locator(".jp-OutputArea .synapse-snapshot").first
        panel.wait_for(state="attached", timeout=30_000)  # may be below the fold
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"lab_{name}.png"))
        assert page.get_by_text("VBox(children=").count() == 0
        assert "Done in" in panel.inner_text()
        fills = panel.locator(".synapse-snapshot-fill")
        assert fills.count() >= 1
        widths = [f.evaluate("el => getComputedStyle(el).width") for f in fills.all()]
        assert all(w == "300px" for w in widths), widths  # full bars (300 px wide)
        assert "(100%)" in panel.inner_text()
    shutil.copy(tmp_path / f"lab_{name}.png", _artifact_dir() / f"lab_{name}.png")


def test_a_trusted_notebook_renders_the_saved_widgets(lab, tmp_path):
    """A trusted notebook: the live widgets come back from the saved widget state, bars full
    and the status of the finished run, before any cell runs."""
    base, _root = lab
    with _lab_page(f"{base}/lab/tree/trusted/testing_with_the_kit.ipynb?reset") as page:
        status = page.locator(".jp-OutputArea .synapse-status").first
        status.wait_for(state="attached", timeout=60_000)
        status.scroll_into_view_if_needed()
        assert "Done in" in status.inner_text()
        bar = page.locator(f".jp-OutputArea {BAR}").first
        assert bar.evaluate("el => el.style.width") == "100%"
        assert page.locator(".jp-OutputArea .synapse-snapshot").count() == 0
        assert page.get_by_text("VBox(children=").count() == 0
        page.screenshot(path=str(tmp_path / "lab_trusted.png"))
    shutil.copy(tmp_path / "lab_trusted.png", _artifact_dir() / "lab_trusted.png")
