"""A real browser: Debian chromium drives an ActionPanel served live by Voila on 127.0.0.1.

Clicks Run, watches the bar move and reach 100%, cancels a second run, and keeps screenshots
(in the test's tmp dir and in ``$SYNAPSE_ARTIFACTS`` or /tmp/synapse-artifacts). Skipped when
chromium, Playwright or Voila is missing; ``.ci/run`` installs chromium so CI runs it.
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
from pathlib import Path

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


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
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
    port = _free_port()
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "PYTHONWARNINGS": "ignore"}
    log = (root / "voila.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            str(root / "live.ipynb"),
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--ServerApp.allow_root=True",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"voila exited early:\n{(root / 'voila.log').read_text()}")
            try:  # a plain connect: a GET of the page would execute the notebook
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"voila did not start:\n{(root / 'voila.log').read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


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
            while "succeeded" not in status.inner_text():
                assert time.monotonic() < deadline, f"no success; bar widths seen: {widths}"
                widths.append(bar.evaluate("el => el.style.width"))
                time.sleep(0.1)
            final = bar.evaluate("el => el.style.width")
            page.screenshot(path=str(tmp_path / "panel_after_run.png"), full_page=True)

            percents = [float(w.rstrip("%")) for w in widths if w]
            assert any(0 < p < 100 for p in percents), f"bar never seen moving: {widths}"
            assert final == "100%"
            assert (
                "30000/30000 (100%)"
                in page.locator(".widget-hprogress + .widget-html").first.inner_text()
            )
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
                "() => document.querySelector('.synapse-status').innerText.includes('cancelled')",
                timeout=20_000,
            )
            stopped = page.locator(BAR).first.evaluate("el => el.style.width")
            assert float(stopped.rstrip("%")) < 100
            assert (
                page.locator(".widget-hprogress.progress-warning, .progress-bar-warning").count()
                >= 1
            )
            assert "CancelledError" in page.locator(".synapse-result").inner_text()
            assert run.is_enabled() and not cancel.is_enabled()
            page.screenshot(path=str(tmp_path / "panel_after_cancel.png"), full_page=True)
        finally:
            browser.close()
    for name in ("panel_invalid.png", "panel_after_run.png", "panel_after_cancel.png"):
        shutil.copy(tmp_path / name, shots / name)
    assert (tmp_path / "panel_after_cancel.png").stat().st_size > 10_000
