"""The web application and the server that runs it.

:func:`create_app` builds a Starlette application over one store: a JSON
API under ``/api`` (documented in ``docs/ui.md``) and a single page under
``/`` whose scripts, styles and chart library ship in ``static/``, so the
page works offline. :func:`serve` runs it with uvicorn on a socket bound
beforehand, so port 0 (any free port) still yields a known URL.

Endpoints are plain functions; Starlette runs them in its thread pool,
which suits the library's blocking file and SQLite reads.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from yanex import manage, query
from yanex.errors import (
    ArtifactError,
    ExperimentNotFoundError,
    UsageError,
    YanexError,
)
from yanex.store import Store
from yanex.ui import comparison, guard, jsonsafe, listing, records
from yanex.ui.arguments import Arguments

STATIC = resources.files("yanex.ui") / "static"
_TOKEN_MARK = "__YANEX_TOKEN__"
#: The largest change request read; a name, a description and some tags.
MAX_BODY = 64 * 1024


def json_response(data: Any, status: int = 200) -> Response:
    """Strict JSON: NaN and infinities become null."""
    return Response(jsonsafe.dumps(data), status, media_type="application/json")


class _Api:
    """The endpoints, sharing one store and one write token."""

    def __init__(self, store: Store, token: str) -> None:
        self.store = store
        self.token = token

    def _id(self, request: Request) -> str:
        return query.resolve(self.store, request.path_params["id"])

    def page(self, request: Request) -> Response:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return Response(html.replace(_TOKEN_MARK, self.token), media_type="text/html")

    def experiments(self, request: Request) -> Response:
        arguments = Arguments(request.query_params.multi_items())
        return json_response(listing.list_page(self.store, arguments))

    def experiment(self, request: Request) -> Response:
        return json_response(records.detail(self.store, self._id(request)))

    def metrics(self, request: Request) -> Response:
        return json_response(records.metrics(self.store, self._id(request)))

    def output(self, request: Request) -> Response:
        arguments = Arguments(request.query_params.multi_items())
        stream = arguments.one("stream") or "stdout"
        offset = None
        if arguments.one("offset") is not None:
            offset = arguments.integer("offset", 0, 0, 2**62)
        chunk = records.output(self.store, self._id(request), stream, offset)
        return json_response(chunk)

    def patch(self, request: Request) -> Response:
        text = records.patch_text(self.store, self._id(request))
        return Response(text, media_type="text/x-diff; charset=utf-8")

    def artifact(self, request: Request) -> Response:
        experiment_id = self._id(request)
        name = request.path_params["name"]
        if Arguments(request.query_params.multi_items()).flag("preview"):
            return json_response(
                records.artifact_preview(self.store, experiment_id, name)
            )
        found = records.artifact_file(self.store, experiment_id, name)
        return FileResponse(
            found.path,
            media_type=found.media_type,
            headers={
                "content-disposition": records.content_disposition(found),
                "content-security-policy": guard.FILE_POLICY,
            },
        )

    def compare(self, request: Request) -> Response:
        arguments = Arguments(request.query_params.multi_items())
        return json_response(comparison.compare(self.store, arguments))

    async def update(self, request: Request) -> Response:
        if not guard.is_same_origin(request.headers, self.token):
            return guard.refusal("a change must come from the yanex page itself")
        change = _change_from(await _read_body(request))
        return await run_in_threadpool(self._apply, request, change)

    def _apply(self, request: Request, change: dict[str, Any]) -> Response:
        experiment_id = self._id(request)
        manage.update(self.store, experiment_id, **change)
        return json_response(records.detail(self.store, experiment_id))


async def _read_body(request: Request) -> Any:
    """The request's JSON body, read no further than :data:`MAX_BODY` bytes."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise UsageError(f"the request body is larger than {MAX_BODY} bytes")
    try:
        return json.loads(data or b"{}")
    except (ValueError, RecursionError):
        raise UsageError("the request body is not JSON") from None


def _change_from(body: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`yanex.manage.update` a body asks for."""
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    unknown = set(body) - {"name", "description", "add_tags", "remove_tags"}
    if unknown:
        raise UsageError(f"cannot change {', '.join(sorted(unknown))}")
    change: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in body:
            if not isinstance(body[key], str):
                raise UsageError(f"{key} must be a string")
            change[key] = body[key]
    for key in ("add_tags", "remove_tags"):
        tags = body.get(key, [])
        if not isinstance(tags, list) or not all(
            isinstance(tag, str) and tag.strip() for tag in tags
        ):
            raise UsageError(f"{key} must be a list of non-empty strings")
        change[key] = [tag.strip() for tag in tags]
    return change


def _error_handler(status: int) -> Callable[[Request, Exception], Response]:
    def handle(request: Request, error: Exception) -> Response:
        return json_response({"error": str(error)}, status)

    return handle


def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return json_response({"error": error.detail}, error.status_code)


def create_app(
    store: Store, listen_host: str = "127.0.0.1", token: str | None = None
) -> Starlette:
    """The application over ``store``, for a server listening on ``listen_host``."""
    api = _Api(store, token or guard.new_token())
    routes = [
        Route("/", api.page),
        Route("/api/experiments", api.experiments),
        Route("/api/experiments/{id}", api.experiment),
        Route("/api/experiments/{id}", api.update, methods=["PATCH"]),
        Route("/api/experiments/{id}/metrics", api.metrics),
        Route("/api/experiments/{id}/output", api.output),
        Route("/api/experiments/{id}/patch", api.patch),
        Route("/api/experiments/{id}/artifacts/{name:path}", api.artifact),
        Route("/api/compare", api.compare),
        Mount("/static", StaticFiles(directory=str(STATIC))),
    ]
    handlers: dict[Any, Callable[..., Response]] = {
        ExperimentNotFoundError: _error_handler(404),
        UsageError: _error_handler(400),
        ArtifactError: _error_handler(400),
        YanexError: _error_handler(500),
        HTTPException: _http_error,
    }
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(guard.Guard, host_names=guard.expected_names(listen_host))
        ],
        exception_handlers=handlers,
    )
    app.state.token = api.token
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host.strip("[]"), port))
        listener.listen(128)
    except BaseException:
        listener.close()
        raise
    return listener


def url_of(listener: socket.socket) -> str:
    """The address a browser uses to reach ``listener``."""
    host, port = listener.getsockname()[:2]
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/"


def serve(
    store: Store,
    listener: socket.socket,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Serve the page on ``listener`` until Ctrl-C or SIGTERM.

    uvicorn finishes the requests in flight, then raises the signal again:
    Ctrl-C arrives to the caller as :class:`KeyboardInterrupt`.
    ``on_started`` runs in a thread once the server accepts requests.
    """
    import uvicorn

    host = listener.getsockname()[0]
    app = create_app(store, listen_host=host)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    if on_started is not None:
        threading.Thread(
            target=_when_started, args=(server, on_started), daemon=True
        ).start()
    server.run(sockets=[listener])


def _when_started(server: Any, action: Callable[[], None]) -> None:
    import time

    for _ in range(400):
        if server.started:
            action()
            return
        time.sleep(0.05)
