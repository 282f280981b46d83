"""The HTTP app (Starlette): `POST /get-online-features`, `POST /push`, `POST /context`,
`POST /claims`, `GET /health`. Bodies are read within the size limit, parsed with orjson,
validated (dagster_project/serving/request.py), answered by the read path (read.py), the context
and claim checks (context.py) or Feast's push, and serialized with orjson. A bad request
is a 4xx with `{"detail": message}`; an unexpected error a 500 with a generic message (logged).
Each read is answered with an `x-request-id` header and recorded in the served-context log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from dagster_project.serving.catalog import Catalog, load_catalog, open_online_store
from dagster_project.serving.consent import apply_consent
from dagster_project.serving.read import read_online_features
from dagster_project.serving.request import Limits, RequestError, parse_online_request, parse_push_request
from dagster_project.serving.served_log import ServedContextLog

log = logging.getLogger(__name__)

DEFAULT_REGISTRY_TTL_SECONDS = 30.0
SERVED_LOG_FLUSH_SECONDS = 2.0
MAX_REQUEST_ID_LENGTH = 128


class JSON(Response):
    media_type = "application/json"

    def render(self, content) -> bytes:
        return orjson.dumps(content)


@dataclass
class ServerState:
    store: object  # feast.FeatureStore
    online_store: object
    catalog: Catalog
    limits: Limits
    clock: Callable[[], datetime]
    served_log: ServedContextLog | None = None
    consent_never_recorded: str = "not_withdrawn"  # the settings' (dagster_project/settings.py)
    suppression: object | None = None  # privacy.pushes.PushSuppression: pushes for forgotten people are dropped

    def read(self, parsed, now: datetime) -> dict:
        """The read path's answer, with consent applied (serving/consent.py)."""
        answer = read_online_features(self.catalog, self.online_store, self.store.config, parsed, now)
        return apply_consent(self.catalog, self.online_store, self.store.config, parsed, answer, now,
                             self.consent_never_recorded)


async def _json_body(request: Request, limits: Limits):
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise RequestError(415, "the body must be JSON, sent with Content-Type: application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limits.max_body_bytes):
        raise RequestError(413, f"the body is larger than the limit of {limits.max_body_bytes} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise RequestError(413, f"the body is larger than the limit of {limits.max_body_bytes} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # nobody left to answer; the status is for the log
        raise RequestError(400, "the client disconnected before the body was complete") from None
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"the body is not valid JSON ({str(exc).split(':')[0]})") from None


def _error(exc: RequestError) -> JSON:
    return JSON({"detail": exc.message}, status_code=exc.status)


async def get_online_features(request: Request) -> Response:
    state: ServerState = request.app.state.serving
    try:
        body = await _json_body(request, state.limits)
        parsed = parse_online_request(body, state.catalog, state.limits)
    except RequestError as exc:
        return _error(exc)
    now = state.clock()
    # A read is a few loopback round trips (Redis) or one indexed query (SQLite): done on the
    # event loop, cheaper than a thread hop; more throughput comes from more workers.
    answer = state.read(parsed, now)
    request_id = _request_id(request)
    _log_read(state, request_id, parsed, answer, now)
    return JSON(answer, headers={"x-request-id": request_id})


def _request_id(request: Request) -> str:
    """The caller's X-Request-Id (to tie a generated text to this read), else a new one."""
    given = request.headers.get("x-request-id", "")
    if 0 < len(given) <= MAX_REQUEST_ID_LENGTH and given.isprintable():
        return given
    return uuid.uuid4().hex


async def context(request: Request) -> Response:
    """Facts of a feature service per entity, with provenance (dagster_project/serving/context.py)."""
    from dagster_project.serving.context import build_context

    state: ServerState = request.app.state.serving
    try:
        body = await _json_body(request, state.limits)
        max_facts = body.pop("max_facts", None) if isinstance(body, dict) else None
        if max_facts is not None and (isinstance(max_facts, bool) or not isinstance(max_facts, int) or max_facts < 1):
            raise RequestError(422, "max_facts must be a positive integer")
        if isinstance(body, dict):
            body["include_age"] = True
        parsed = parse_online_request(body, state.catalog, state.limits)
    except RequestError as exc:
        return _error(exc)
    now = state.clock()
    answer = state.read(parsed, now)
    request_id = _request_id(request)
    _log_read(state, request_id, parsed, answer, now)
    return JSON({"request_id": request_id, "contexts": build_context(answer, parsed, state.catalog, max_facts)},
                headers={"x-request-id": request_id})


async def claims(request: Request) -> Response:
    """True/false for claims about products, on current values (dagster_project/serving/context.py)."""
    from dagster_project.serving.context import check_claims, claims_read, parse_claims

    state: ServerState = request.app.state.serving
    try:
        body = await _json_body(request, state.limits)
        checked, max_age = parse_claims(body, state.limits)
        parsed = parse_online_request(claims_read(checked, max_age), state.catalog, state.limits)
    except RequestError as exc:
        return _error(exc)
    now = state.clock()
    answer = read_online_features(state.catalog, state.online_store, state.store.config, parsed, now)
    request_id = _request_id(request)
    _log_read(state, request_id, parsed, answer, now)
    return JSON({"request_id": request_id, "claims": check_claims(checked, answer)}, headers={"x-request-id": request_id})


def _log_read(state: ServerState, request_id: str, parsed, answer: dict, now: datetime) -> None:
    if state.served_log is not None:
        features = [f"{c.view}:{c.feature}" for c in parsed.columns]
        if state.served_log.record(request_id, parsed.feature_service, features, parsed.entities, answer, now):
            asyncio.get_running_loop().run_in_executor(None, state.served_log.flush)


async def push(request: Request) -> Response:
    state: ServerState = request.app.state.serving
    try:
        body = await _json_body(request, state.limits)
        parsed = parse_push_request(body, state.catalog, state.limits)
    except RequestError as exc:
        return _error(exc)
    import pandas as pd
    from feast.data_source import PushMode

    from dagster_project.privacy.suppression import SuppressionListStale

    try:
        forgotten = state.suppression.forgotten_rows(parsed.columns) if state.suppression else []
    except SuppressionListStale as exc:
        log.error("push refused: %s", exc)
        return JSON({"detail": str(exc)}, status_code=503)
    keep = [i for i in range(len(parsed.timestamps)) if not (forgotten and forgotten[i])]
    suppressed = len(parsed.timestamps) - len(keep)
    if suppressed:
        log.info("push to %s: %d row(s) of forgotten people dropped", parsed.push_source_name, suppressed)
    if not keep:
        return JSON({"pushed": 0, "suppressed": suppressed})
    frame = pd.DataFrame({name: [values[i] for i in keep] for name, values in parsed.columns.items()})
    frame[parsed.timestamp_field] = pd.to_datetime([parsed.timestamps[i] for i in keep], utc=True)
    mode = {"online": PushMode.ONLINE, "offline": PushMode.OFFLINE,
            "online_and_offline": PushMode.ONLINE_AND_OFFLINE}[parsed.to]
    try:
        await run_in_threadpool(state.store.push, parsed.push_source_name, frame, allow_registry_cache=True, to=mode)
    except (ValueError, TypeError) as exc:  # values Feast could not convert to the view's types
        log.info("push to %s refused: %s", parsed.push_source_name, exc)
        return JSON({"detail": f"push refused: {exc.__class__.__name__}: {str(exc)[:200]}"}, status_code=422)
    return JSON({"pushed": len(frame), "suppressed": suppressed})


async def health(request: Request) -> Response:
    state: ServerState = request.app.state.serving
    return JSON({"status": "ok", "feature_views": len(state.catalog.views),
                 "registry_age_seconds": round(time.monotonic() - state.catalog.loaded_at, 1)})


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("error serving %s", request.url.path)
    return JSON({"detail": "internal error; see the server log"}, status_code=500)


async def _flush_served_log(served_log: ServedContextLog) -> None:
    while True:
        await asyncio.sleep(SERVED_LOG_FLUSH_SECONDS)
        try:
            await run_in_threadpool(served_log.flush)
        except Exception:  # a full disk must not stop serving; the rows stay lost, the log says so
            log.exception("writing the served-context log failed")


async def _refresh_catalog(app: Starlette, every: float) -> None:
    """Swap in a fresh catalog every `every` seconds (a registry that cannot be read keeps the last one)."""
    while True:
        await asyncio.sleep(every)
        state: ServerState = app.state.serving
        try:
            state.catalog = await run_in_threadpool(load_catalog, state.store)
        except Exception:  # a registry being rewritten: keep serving the catalog we have
            log.warning("registry refresh failed; serving the previous catalog", exc_info=True)


def create_app(settings=None, *, limits: Limits | None = None, clock: Callable[[], datetime] | None = None,
               registry_ttl_seconds: float | None = None, served_log: ServedContextLog | None = None) -> Starlette:
    """The app for `settings` (default: the environment's). The registry is read at start-up."""
    from dagster_project.feast_ext.repo import get_feature_store
    from dagster_project.privacy.pushes import PushSuppression
    from dagster_project.settings import get_settings

    settings = settings or get_settings()
    limits = limits or Limits.from_env()
    every = registry_ttl_seconds or float(os.environ.get("RCL_SERVE_REGISTRY_TTL_SECONDS", DEFAULT_REGISTRY_TTL_SECONDS))
    store = get_feature_store(settings)
    served_log = ServedContextLog.from_env(settings.data_dir) if served_log is None else served_log
    state = ServerState(store=store, online_store=open_online_store(store), catalog=load_catalog(store),
                        limits=limits, clock=clock or (lambda: datetime.now(timezone.utc)),
                        served_log=served_log if served_log and served_log.sample_rate > 0 else None,
                        consent_never_recorded=settings.consent_never_recorded,
                        suppression=PushSuppression(settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        tasks = [asyncio.create_task(_refresh_catalog(app, every))]
        if state.served_log is not None:
            tasks.append(asyncio.create_task(_flush_served_log(state.served_log)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            if state.served_log is not None:
                state.served_log.flush()

    app = Starlette(
        routes=[
            Route("/get-online-features", get_online_features, methods=["POST"]),
            Route("/push", push, methods=["POST"]),
            Route("/context", context, methods=["POST"]),
            Route("/claims", claims, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.serving = state
    return app


def app_from_env() -> Starlette:
    """uvicorn's factory for each worker process (settings come from the environment)."""
    return create_app()
