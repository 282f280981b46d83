"""The run-failure sensor on a real failed run: it POSTs the job, run id, failed steps and first
error line as JSON to RCL_ALERT_WEBHOOK_URL (a real HTTP server here); an unreachable or failing
webhook is logged and never raised; without a webhook nothing is sent."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg

from dagster_project.defs.alerts import post_webhook
from dagster_project.defs.resources import RclSettings
from dagster_project.defs.sensors import alert_on_run_failure
from dagster_project.settings import Settings

ERROR = "the delivery of 2026-01-02 has no header row"


class Receiver:
    """A local HTTP server that records what is POSTed to it and answers `status`."""

    def __init__(self, status: int = 204):
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"path": self.path, "content_type": self.headers["Content-Type"],
                                          "payload": json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rcl"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@dg.asset
def ok_step() -> None:
    pass


@dg.asset(deps=[ok_step])
def failing_step() -> None:
    raise ValueError(ERROR)


def _failed_run(tmp_path, webhook_url: str):
    """A real failed run of a Definitions holding the sensor, and the sensor's context for it."""
    settings = Settings.for_data_dir(tmp_path, alert_webhook_url=webhook_url)
    defs = dg.Definitions(assets=[ok_step, failing_step], sensors=[alert_on_run_failure],
                          resources={"rcl_settings": RclSettings.from_settings(settings)})
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_event=result.get_run_failure_event(), dagster_instance=instance,
        dagster_run=result.dagster_run, resources={"rcl_settings": RclSettings.from_settings(settings)},
    ).for_run_failure()
    return result, context


def test_a_failed_run_is_posted_to_the_webhook(tmp_path):
    with Receiver() as receiver:
        result, context = _failed_run(tmp_path, receiver.url)
        alert_on_run_failure(context)
    (call,) = receiver.received
    assert call["path"] == "/hooks/rcl" and call["content_type"] == "application/json"
    payload = call["payload"]
    assert payload["event"] == "run_failure"
    assert payload["run_id"] == result.run_id
    assert payload["job"] == result.dagster_run.job_name
    assert payload["failed_steps"] == ["failing_step"]
    assert payload["error"] == f"ValueError: {ERROR}"


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def test_a_webhook_that_fails_is_logged_not_raised(tmp_path):
    _, context = _failed_run(tmp_path, _closed_port_url())
    alert_on_run_failure(context)  # an unreachable webhook: the sensor still completes

    class Log:
        warnings: list[str] = []

        def warning(self, message):
            self.warnings.append(message)

    log = Log()
    assert not post_webhook(_closed_port_url(), {"event": "test"}, log, timeout=2)
    with Receiver(status=500) as receiver:
        assert not post_webhook(receiver.url, {"event": "test"}, log, timeout=2)
    assert not post_webhook("not a url", {"event": "test"}, log)
    assert [w.split(" (")[0].split(":")[0] for w in log.warnings] == [
        "alert webhook unreachable", "alert webhook answered 500 Internal Server Error", "alert webhook unreachable"]
    with Receiver() as receiver:
        assert post_webhook(receiver.url, {"event": "test"}, log)


def test_without_a_webhook_the_failure_is_only_logged(tmp_path, capfd):
    with Receiver() as receiver:
        result, context = _failed_run(tmp_path, "")
        capfd.readouterr()
        alert_on_run_failure(context)
    assert receiver.received == []
    logged = capfd.readouterr().err  # the sensor's log (Dagster's console handler)
    assert f"run {result.run_id} of {result.dagster_run.job_name} failed; failed steps: failing_step; " \
           f"first error: ValueError: {ERROR}" in logged
