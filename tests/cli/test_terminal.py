"""`synapse run` on a real terminal (a pty): colour and live bars there; NO_COLOR removes the
colour and keeps the bars; --no-progress removes the bars."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pty = pytest.importorskip("pty")


def _run_on_a_tty(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=child_fd, stdout=child_fd, stderr=child_fd, env=env, close_fds=True
    )
    os.close(child_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main_fd)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "TERM", "CI"}}
    env.update(TERM="xterm-256color", COLUMNS="100", **extra)
    return env


def test_error_label_is_coloured_on_a_terminal_and_plain_with_no_color(tools_plugin):
    argv = [sys.executable, "-m", "synapse_sdk.cli", "run", str(tools_plugin), "ad"]
    code, text = _run_on_a_tty(argv, _env())
    assert code == 2
    assert "\x1b[1;31merror:\x1b[0m Action 'ad' not found" in text
    code, text = _run_on_a_tty(argv, _env(NO_COLOR="1"))
    assert code == 2
    assert "\x1b[" not in text and "error: Action 'ad' not found" in text


def test_live_progress_on_a_terminal(tools_plugin):
    pytest.importorskip("rich")
    argv = [sys.executable, "-m", "synapse_sdk.cli", "run", str(tools_plugin), "add", "-p", "a=1"]
    code, text = _run_on_a_tty(argv, _env())
    assert code == 0
    assert "\x1b[" in text  # rich drew the bar
    assert '"total": 1' in text
    code, text = _run_on_a_tty(argv, _env(NO_COLOR="1"))
    assert code == 0
    assert not COLOUR.search(text)  # no colour ...
    assert "━━━━" in text and "100%" in text  # ... and still the live bar
    assert '"total": 1' in text


COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def test_no_progress_draws_no_bar_and_keeps_the_rest(tools_plugin):
    argv = [sys.executable, "-m", "synapse_sdk.cli", "run", str(tools_plugin), "add", "-p", "a=1"]
    code, text = _run_on_a_tty([*argv, "--no-progress"], _env())
    assert code == 0
    assert "━" not in text and "add: 100.0%" not in text
    assert "add started" in text and "succeeded" in text and '"total": 1' in text
