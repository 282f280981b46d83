"""Starting the server: uvicorn (uvloop + httptools), one or more worker processes sharing the
listening socket, bound to 127.0.0.1 unless told otherwise, workers never recycled."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DEFAULT_PORT = 6566
# Paths derived from the data dir: a --data-dir given on the command line moves all of them.
_DERIVED_PATH_VARIABLES = ("RCL_WAREHOUSE_PATH", "RCL_FEATURES_DIR", "RCL_FEAST_DIR", "RCL_PUBLISHED_WAREHOUSE")


def serve(settings, host: str = "127.0.0.1", port: int = DEFAULT_PORT, workers: int = 1,
          log_level: str = "warning") -> None:
    """Run until interrupted. Worker processes read the settings from the environment."""
    import uvicorn

    # worker processes read the settings from the environment they inherit
    os.environ.update(settings.env())
    # No --limit-max-requests: a recycled worker drops its kept-alive connections and stalls
    # requests while the replacement imports Feast (1-3 s). Memory stays flat: the server holds
    # the registry's catalog and one connection to the online store.
    uvicorn.run("dagster_project.serving.app:app_from_env", factory=True, host=host, port=port,
                workers=workers, loop="uvloop", http="httptools", access_log=False, log_level=log_level,
                timeout_keep_alive=30)


def settings_for_serving(data_dir: Path | None, online_store: str | None):
    """The environment's settings, with a data dir and online store from the command line."""
    from dagster_project.settings import Settings

    environ = dict(os.environ)
    if data_dir is not None:
        environ["RCL_DATA_DIR"] = str(Path(data_dir).resolve())
        for name in _DERIVED_PATH_VARIABLES:
            environ.pop(name, None)
    if online_store is not None:
        environ["RCL_ONLINE_STORE"] = online_store
    return Settings.from_env(environ)


def add_serve_command(subparsers) -> None:
    """`rcl serve`: registered by dagster_project/cli.py."""
    parser = subparsers.add_parser(
        "serve", help="serve online features over HTTP (Feast's /get-online-features, /push)",
        description="Serve the online store of a built data dir over HTTP (docs/serving.md).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: put an authenticating proxy in front to expose it)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1; 2 on a 2-core machine)")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: RCL_DATA_DIR")
    parser.add_argument("--online-store", choices=("sqlite", "redis"), default=None,
                        help="default: RCL_ONLINE_STORE, else sqlite")
    parser.add_argument("--log-level", default="warning")
    parser.set_defaults(func=_cmd_serve)


def _cmd_serve(args) -> int:
    settings = settings_for_serving(args.data_dir, args.online_store)
    if not (settings.feast_dir / "registry.db").exists():
        raise FileNotFoundError(f"no Feast registry under {settings.feast_dir}: build the data dir first (rcl run)")
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    serve(settings, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.serving")
    add_serve_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
