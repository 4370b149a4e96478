"""Calling a model that another process serves over HTTP, from a category action.

Not a public door. The smart-tool and to-task actions of the reference synapse-sdk call a
model that the Synapse platform serves for another plugin. Here a run reaches such a model
only when its env says where: ``SYNAPSE_INFERENCE_URL`` (a URL that answers a JSON body with
JSON, e.g. the ``/run`` route of an action served with ``synapse serve`` or
``ServeExecutor``) and, when that endpoint wants one, ``SYNAPSE_INFERENCE_TOKEN`` (sent as
``Authorization: Bearer``). The standard library does the HTTP: no extra is needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ActionDefinitionError, BackendError, PlatformRequiredError

if TYPE_CHECKING:
    from ..context import RuntimeContext

__all__ = ["INFERENCE_TOKEN", "INFERENCE_URL", "call_model", "inference_endpoint", "post_json"]

#: env key of the URL a run posts its model input to
INFERENCE_URL = "SYNAPSE_INFERENCE_URL"
#: env key of the bearer token that endpoint expects (optional)
INFERENCE_TOKEN = "SYNAPSE_INFERENCE_TOKEN"

_HINT = (
    f"check that the endpoint in {INFERENCE_URL} is running and answers a JSON POST with JSON "
    f"(with {INFERENCE_TOKEN} set when it needs a token)"
)


def inference_endpoint(env: Mapping[str, str]) -> tuple[str, str | None] | None:
    """``(url, token)`` from a run's env, or None when it names no endpoint."""
    url = env.get(INFERENCE_URL)
    if not url:
        return None
    return url, env.get(INFERENCE_TOKEN) or None


def post_json(
    url: str,
    body: Any,
    *,
    method: str = "POST",
    token: str | None = None,
    timeout: float = 300.0,
    action: str | None = None,
) -> Any:
    """Send ``body`` as JSON to ``url`` and return the decoded JSON answer.

    A body that is not JSON raises :class:`ActionDefinitionError`; an endpoint that cannot be
    reached, answers with an error status or with something that is not JSON raises
    :class:`BackendError` (the token never appears in a message).
    """
    import urllib.error
    import urllib.request

    try:
        data = json.dumps(body).encode()
    except (TypeError, ValueError) as exc:
        raise ActionDefinitionError(
            f"The model input sent to {url} is not JSON: {exc}",
            action=action,
            hint="return only dicts, lists, strings, numbers, booleans and None from "
            "handle_input / setup_inference_params",
        ) from exc
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method.upper())
    try:
        # the run's own env names the URL: any scheme urllib opens is the user's choice
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode(errors="replace").strip()
        raise BackendError(
            f"{method.upper()} {url} answered {exc.code} {exc.reason}: {detail or '(no body)'}",
            backend=url,
            hint=_HINT,
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BackendError(f"Cannot reach {url}: {reason}", backend=url, hint=_HINT) from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BackendError(
            f"{method.upper()} {url} answered with something that is not JSON: {raw[:200]!r}",
            backend=url,
            hint=_HINT,
        ) from exc


def call_model(
    ctx: RuntimeContext,
    model_input: Mapping[str, Any],
    *,
    feature: str,
    override: str,
    owner: str,
    timeout: float,
) -> Any:
    """The answer of the model the run's env names to ``model_input``.

    ``model_input``'s ``json`` key, when present, is the whole body, and its ``method`` key
    the HTTP method (default POST), as the reference's serve calls read them. Without
    ``SYNAPSE_INFERENCE_URL`` in ``ctx.env`` raises :class:`PlatformRequiredError` for
    ``feature``, naming ``override`` (a method of the class ``owner``) as the way out.
    """
    endpoint = inference_endpoint(ctx.env)
    if endpoint is None:
        raise PlatformRequiredError(
            feature,
            override=override,
            action=ctx.action_name,
            hint=f"set {INFERENCE_URL} (and {INFERENCE_TOKEN} if it needs one) in the run's env "
            "to an endpoint that answers the model input with JSON, such as the /run route of "
            f"an inference action served with ServeExecutor; or override {override} in "
            f"{owner}",
        )
    url, token = endpoint
    body = dict(model_input)
    method = str(body.pop("method", "post"))
    payload = body.pop("json") if "json" in body else body
    return post_json(
        url, payload, method=method, token=token, timeout=timeout, action=ctx.action_name
    )
