"""``Run._repr_html_``: the summary a notebook shows for a Run."""

from __future__ import annotations

from pydantic import BaseModel

from synapse_sdk.plugins import RuntimeContext, action, run_action


class Params(BaseModel):
    name: str = "<b>x</b>"


@action(params=Params)
def greet(params: Params, ctx: RuntimeContext) -> dict:
    ctx.set_progress(1, 1)
    return {"greeting": f"hi {params.name}", "count": 2}


@action(params=Params)
def broken(params: Params, ctx: RuntimeContext) -> None:
    raise KeyError("missing")


def test_succeeded_run_shows_status_params_and_result_table_escaped():
    html = run_action(greet, {})._repr_html_()
    assert ">succeeded</span>" in html
    assert "<code>greet</code>" in html
    assert "1 run_started, 1 progress, 1 result, 1 run_finished" in html
    assert "<th " in html and "greeting" in html
    assert "hi &lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_failed_run_shows_the_error_with_a_folded_traceback():
    html = run_action(broken, {})._repr_html_()
    assert ">failed</span>" in html
    assert "<details><summary>" in html
    assert "ExecutionError: Action &#x27;broken&#x27; failed: KeyError: &#x27;missing&#x27;" in html
    assert "Traceback (most recent call last)" in html
