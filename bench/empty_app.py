"""The empty-endpoint baseline of online_http_vs_empty_rps_ratio: one POST endpoint returning {}
(FastAPI), served by the same stack as `feast serve` (gunicorn + uvicorn_worker.UvicornWorker,
same worker count and options)."""

from fastapi import FastAPI

app = FastAPI()


@app.post("/get-online-features")
async def get_online_features() -> dict:
    return {}


@app.get("/health")
async def health() -> dict:
    return {}
