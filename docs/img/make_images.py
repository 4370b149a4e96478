"""Remake the README's two pictures from real runs of the digits example.

    .venv/bin/python docs/img/make_images.py          # both
    .venv/bin/python docs/img/make_images.py panel    # or only one: panel | terminal

- ``panel.png``: Voila serves a notebook holding an ``ActionPanel`` of ``examples/digits``
  ``train``; headless Debian chromium (/usr/bin/chromium, driven by Playwright as
  tests/notebook/test_browser.py does) clicks Run and photographs the panel when it is done.
- ``terminal.png``: ``synapse run examples/digits train`` in a tmux pane (a real TTY, so the
  ``rich`` bars are live), captured with its colours half-way through the run and drawn by
  the same chromium.

Needs the dev extra (voila, playwright, rich, scikit-learn), chromium and tmux. Everything runs
in a temporary directory on 127.0.0.1; the pictures are written next to this file.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

PANEL_NOTEBOOK = f"""
import tempfile

from synapse_sdk.clients import LocalBackend
from synapse_sdk.notebook import ActionPanel

backend = LocalBackend(tempfile.mkdtemp(prefix="digits-"))
panel = ActionPanel({str(ROOT / "examples" / "digits")!r}, "train",
                    params={{"epochs": 120}}, client=backend)
panel
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shrink(path: Path) -> None:
    """Fewer colours, same look: a screenshot of flat UI needs no more than 64."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def make_panel(work: Path) -> Path:
    import nbformat
    from playwright.sync_api import sync_playwright

    nb = nbformat.v4.new_notebook()
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kernelspec"] = kernel
    nb.cells.append(nbformat.v4.new_code_cell(PANEL_NOTEBOOK.strip()))
    nbformat.write(nb, work / "panel.ipynb")
    port = _free_port()
    log = (work / "voila.log").open("w")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "voila", str(work / "panel.ipynb"), "--no-browser"),
            *("--Voila.ip=127.0.0.1", "--ServerApp.allow_root=True", f"--port={port}"),
        ],
        cwd=work,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "JUPYTER_PLATFORM_DIRS": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    out = HERE / "panel.png"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit((work / "voila.log").read_text()) from None
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 860, "height": 1600})
            page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
            run = page.get_by_role("button", name="Run")
            run.wait_for(timeout=60_000)
            run.click()
            status = page.locator(".synapse-status")
            deadline = time.monotonic() + 120
            while "Done in" not in status.inner_text():
                if time.monotonic() > deadline:
                    raise SystemExit(f"the run did not finish: {status.inner_text()!r}")
                time.sleep(0.2)
            time.sleep(0.5)  # the last throttled redraw
            page.locator(".synapse-action-panel").screenshot(path=str(out))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    _shrink(out)
    return out


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", "synapse-readme", *args], check=True, capture_output=True, text=True
    ).stdout


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not done after {timeout} s")
        time.sleep(0.1)


def make_terminal(work: Path) -> Path:
    from playwright.sync_api import sync_playwright
    from rich.console import Console
    from rich.terminal_theme import MONOKAI
    from rich.text import Text

    (work / "examples").symlink_to(ROOT / "examples")  # the README's command, as in a clone
    venv_bin = Path(sys.executable).parent
    command = "synapse run examples/digits train -p epochs=1000 -p batch_size=16"
    _tmux("new-session", "-d", "-s", "run", "-x", "100", "-y", "16", "bash --norc --noprofile")
    try:
        _tmux("send-keys", "-t", "run", f"PS1='$ '; cd {work}; PATH={venv_bin}:$PATH", "Enter")
        # a first run makes the LocalBackend and imports the digits: the picture is the next one
        first = "synapse run examples/digits train -p epochs=1 >/dev/null 2>&1; clear; echo ready"
        _tmux("send-keys", "-t", "run", first, "Enter")
        _wait_for(lambda: "ready" in _tmux("capture-pane", "-t", "run", "-p"), "the first run")
        _tmux("send-keys", "-t", "run", "clear", "Enter")
        time.sleep(0.5)
        _tmux("send-keys", "-t", "run", command, "Enter")
        deadline = time.monotonic() + 60
        while True:  # half-way: the dataset step done, train moving, its ETA counting down
            seen = re.search(r"^train .* (\d+)%", _tmux("capture-pane", "-t", "run", "-p"), re.M)
            if seen and int(seen.group(1)) >= 45:
                screen = _tmux("capture-pane", "-t", "run", "-p", "-e")
                break
            if time.monotonic() > deadline:
                raise SystemExit("no train bar past 45% within 60 s")
            time.sleep(0.1)
    finally:
        _tmux("kill-server")
    lines = screen.rstrip("\n").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    console = Console(
        file=io.StringIO(), record=True, width=100, force_terminal=True, color_system="truecolor"
    )
    console.print(Text.from_ansi("\n".join(lines)), soft_wrap=True)
    page_html = console.export_html(theme=MONOKAI, inline_styles=True).replace(
        "<pre ", "<pre id='term' style='display:inline-block;margin:0;padding:12px 16px' "
    )
    (work / "terminal.html").write_text(page_html)
    out = HERE / "terminal.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 600})
        page.goto((work / "terminal.html").as_uri())
        page.locator("#term").screenshot(path=str(out))
        browser.close()
    _shrink(out)
    return out


def main(argv: list[str]) -> int:
    wanted = argv or ["panel", "terminal"]
    makers = {"panel": make_panel, "terminal": make_terminal}
    for name in wanted:
        work = Path(tempfile.mkdtemp(prefix="demo-"))  # short: the run prints its path
        try:
            out = makers[name](work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{out.relative_to(ROOT)}: {out.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
