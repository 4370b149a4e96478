"""Serving a model with its own HTTP routes: ``BaseServeDeployment`` and ``BaseDeploymentAction``.

The reference synapse-sdk's inference plugins define a *serve deployment*, a class with a
FastAPI ``app`` whose routes are its methods, and a *deployment action* that deploys it::

    app = FastAPI()

    class Inference(BaseServeDeployment):
        app = app

        async def _get_model(self, model_info):
            return load(model_info["path"])

        @app.post("/")
        async def infer(self, data: Input) -> dict:
            model = await self.get_model(data.model)
            ...

    class Deploy(BaseDeploymentAction[DeployParams]):
        entrypoint = Inference

        def execute(self):
            self.ray_init()
            self.deploy()
            return {"serve_application": self.register_serve_application()}

Here :meth:`BaseServeDeployment.asgi_app` binds the routes to one instance and returns a
plain FastAPI app (serve it with uvicorn, or test it with ``TestClient``);
:meth:`BaseDeploymentAction.deploy` deploys the class with Ray Serve (extra ``ray-serve``).
FastAPI is needed only when these are used (extra ``serve``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ..base import BaseAction
from ..enums import PluginCategory
from ._common import CategoryAction, ProgressCategories, params_value

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "BaseDeploymentAction",
    "BaseServeDeployment",
    "DeploymentProgress",
    "DeploymentProgressCategories",
]

P = TypeVar("P")


class BaseServeDeployment(BaseAction[Any]):
    """A model server: a FastAPI ``app`` (class attribute) whose routes are methods.

    Override: ``_get_model(model_info)`` (async; ``model_info`` has ``path``, the extracted
    model directory, plus ``id`` and ``name``) and the routes. :meth:`get_model` loads a model
    once per instance. It is not run as an action: running it does nothing.
    """

    app: ClassVar[Any] = None

    def __init__(self, backend_url: Any = None, ctx: Any = None, *, client: Any = None) -> None:
        # built by its server with the backend URL (Ray Serve's bind()), not by a runner
        self.backend_url = backend_url
        self.ctx = ctx
        self.client = client
        self._models: dict[int, Any] = {}

    def execute(self) -> None:
        """A serve deployment answers requests; it does not run as an action."""
        from ..errors import ActionDefinitionError

        raise ActionDefinitionError(
            f"{type(self).__name__} is a serve deployment: it answers HTTP requests and does "
            "not run as an action",
            hint=f"serve {type(self).__name__}.asgi_app() with uvicorn, or deploy it with its "
            "BaseDeploymentAction (entrypoint = the class)",
        )

    async def _get_model(self, model_info: dict[str, Any]) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must define `async def _get_model(self, model_info)` "
            "returning the loaded model (model_info['path'] is the model directory)"
        )

    async def get_model(self, model_id: int) -> Any:
        """The model ``model_id`` of the backend, downloaded, extracted and loaded once."""
        import asyncio

        if model_id not in self._models:
            info = await asyncio.to_thread(self._fetch_model, model_id)
            self._models.setdefault(model_id, await self._get_model(info))
        return self._models[model_id]

    def _fetch_model(self, model_id: int) -> dict[str, Any]:
        if self.client is None:
            from ..errors import BackendNotConfiguredError

            raise BackendNotConfiguredError(f"{type(self).__name__}.get_model()")
        record = self.client.get_model(model_id)
        folder = Path(tempfile.mkdtemp(prefix=f"synapse-model-{model_id}-"))
        target = Path(self.client.download_file(record["file"]["sha256"], folder / "model.file"))
        if zipfile.is_zipfile(target):
            shutil.unpack_archive(target, folder / "model", "zip")
            os.unlink(target)
            path = folder / "model"
        else:
            path = target.rename(folder / record["file"]["name"])
        return {"path": path, "id": record["id"], "name": record["name"]}

    @classmethod
    def asgi_app(cls, backend_url: str | None = None, *, client: Any = None) -> FastAPI:
        """A FastAPI app answering ``cls.app``'s routes with the methods of one instance."""
        from fastapi import APIRouter, FastAPI
        from fastapi.routing import APIRoute

        if cls.app is None:
            raise TypeError(f"{cls.__name__}.app is not set: assign the FastAPI app its routes use")
        instance = cls(backend_url, client=client)
        router = APIRouter()
        for route in cls.app.routes:
            if not isinstance(route, APIRoute):
                continue
            endpoint = route.endpoint
            if getattr(cls, endpoint.__name__, None) is endpoint:  # a method: bind it
                endpoint = getattr(instance, endpoint.__name__)
            router.add_api_route(
                route.path,
                endpoint,
                methods=sorted(route.methods or ()),
                name=route.name,
                response_model=route.response_model,
                status_code=route.status_code,
            )
        app = FastAPI(title=cls.__name__)
        app.include_router(router)
        app.state.deployment = instance
        return app


class DeploymentProgress(ProgressCategories):
    """Progress steps of a deployment (``self.progress.DEPLOY`` ...)."""

    INITIALIZE = "initialize"
    DEPLOY = "deploy"
    REGISTER = "register"


#: The reference synapse-sdk's name.
DeploymentProgressCategories = DeploymentProgress


class BaseDeploymentAction(CategoryAction[P], Generic[P]):
    """Deploy the serve deployment ``entrypoint`` with Ray Serve (category ``neural_net``).

    Helpers: :meth:`ray_init`, :meth:`deploy`, :meth:`register_serve_application`,
    :meth:`get_serve_app_name`, :meth:`get_route_prefix`; ``params.num_cpus`` /
    ``params.num_gpus`` size each replica. Override ``execute``.
    """

    category = PluginCategory.NEURAL_NET
    entrypoint: ClassVar[type[BaseServeDeployment] | None] = None

    progress_categories = DeploymentProgress
    progress: DeploymentProgress

    def get_serve_app_name(self) -> str:
        """The Ray Serve application name: the ``SYNAPSE_SERVE_APP_NAME`` env value, else the
        entrypoint's class name."""
        return self.ctx.env.get("SYNAPSE_SERVE_APP_NAME") or self._entrypoint().__name__

    def get_route_prefix(self) -> str:
        """The HTTP route prefix of the application: ``/<app name>``."""
        return f"/{self.get_serve_app_name()}"

    def get_ray_actor_options(self) -> dict[str, Any]:
        """Resources of each replica, from ``params.num_cpus`` / ``params.num_gpus``."""
        options: dict[str, Any] = {}
        for key in ("num_cpus", "num_gpus"):
            value = params_value(self.params, key)
            if value is not None:
                options[key] = value
        return options

    def ray_init(self, **kwargs: Any) -> None:
        """Connect to Ray (``RAY_ADDRESS`` in ``ctx.env``, else a local instance)."""
        from ..executors.ray import ensure_ray

        ensure_ray(self.ctx.env.get("RAY_ADDRESS"), **kwargs)

    def deploy(self) -> None:
        """Deploy ``entrypoint`` with Ray Serve as :meth:`get_serve_app_name` at
        :meth:`get_route_prefix` (extra ``ray-serve``)."""
        try:
            from ray import serve
        except ImportError as exc:
            raise ImportError(
                "BaseDeploymentAction.deploy() needs Ray Serve: pip install "
                "'synapse-sdk[ray-serve]'"
            ) from exc
        cls = self._entrypoint()
        name = self.get_serve_app_name()
        deployment = serve.deployment(name=name, ray_actor_options=self.get_ray_actor_options())(
            serve.ingress(cls.app)(cls)
        )
        serve.run(
            deployment.bind(self.ctx.env.get("SYNAPSE_BACKEND_URL")),
            name=name,
            route_prefix=self.get_route_prefix(),
        )
        self.log("serve_deployed", {"app": name, "route_prefix": self.get_route_prefix()})

    def register_serve_application(self) -> int | None:
        """Register the deployed application with the backend and return its id. The
        backends of synapse_sdk keep no serve applications: this logs the deployment and
        returns None."""
        self.log("serve_application", {"app": self.get_serve_app_name()})
        return None

    def _entrypoint(self) -> type[BaseServeDeployment]:
        cls = type(self).entrypoint
        if cls is None:
            raise TypeError(
                f"{type(self).__name__}.entrypoint is not set: assign the BaseServeDeployment "
                "subclass to deploy (entrypoint = MyInference)"
            )
        return cls
