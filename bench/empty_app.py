"""Empty-endpoint baselines of the HTTP figures: a POST endpoint returning {} on the same stack as
the server measured against it. `app` is FastAPI (for gunicorn + uvicorn_worker.UvicornWorker, the
stack of `feast serve`); `starlette_app` is Starlette under uvicorn (the stack of `rcl serve`)."""

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

app = FastAPI()


@app.post("/get-online-features")
async def get_online_features() -> dict:
    return {}


@app.get("/health")
async def health() -> dict:
    return {}


async def _empty(request) -> Response:
    await request.body()
    return Response(b"{}", media_type="application/json")


starlette_app = Starlette(routes=[Route("/get-online-features", _empty, methods=["POST"]),
                                  Route("/health", _empty, methods=["GET"])])
