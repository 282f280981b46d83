"""The notification hook of failed runs: a summary (job, run id, failed steps, first error line),
logged, and POSTed as JSON to RCL_ALERT_WEBHOOK_URL when it is set. A webhook that fails is
logged, never raised: an alert must not break the sensor that sends it. Payload: docs/operations.md."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import dagster as dg

WEBHOOK_TIMEOUT_SECONDS = 10.0


def first_error_line(error) -> str:
    """The first non-empty line of the root cause of a SerializableErrorInfo (the user's own
    exception rather than Dagster's wrapper around it)."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    message = getattr(error, "message", "") or ""
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def failure_summary(context: dg.RunFailureSensorContext) -> dict[str, Any]:
    """What an on-call person needs first: which job, which run, which steps, and why."""
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    errors = [first_error_line(event.event_specific_data.error) for event in step_failures
              if getattr(event.event_specific_data, "error", None) is not None]
    run_error = getattr(context.failure_event.event_specific_data, "error", None)
    error = next((e for e in errors if e), "") or first_error_line(run_error) or (context.failure_event.message or "")
    return {
        "event": "run_failure",
        "job": run.job_name,
        "run_id": run.run_id,
        "partition": run.tags.get("dagster/partition"),
        "partition_range": [run.tags[t] for t in ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
                            if t in run.tags] or None,
        "failed_steps": sorted({event.step_key for event in step_failures if event.step_key}),
        "error": error.splitlines()[0] if error else "",
    }


def describe(summary: dict[str, Any]) -> str:
    steps = ", ".join(summary["failed_steps"]) or "no step failed (the run itself failed)"
    return f"run {summary['run_id']} of {summary['job']} failed; failed steps: {steps}; first error: {summary['error']}"


def post_webhook(url: str, payload: dict[str, Any], log, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> bool:
    """POST `payload` as JSON to `url`; True when the receiver answered 2xx. Every failure
    (unreachable, timeout, an error status, a malformed URL) is logged as a warning."""
    try:
        request = urllib.request.Request(
            url, data=json.dumps(payload, default=str).encode(), method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "retail-context-layer-alerts"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except urllib.error.HTTPError as exc:
        log.warning(f"alert webhook answered {exc.code} {exc.reason}: the alert was not delivered")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.warning(f"alert webhook unreachable ({exc.__class__.__name__}: {exc}): the alert was not delivered")
    return False


def notify_run_failure(context: dg.RunFailureSensorContext, webhook_url: str) -> dict[str, Any]:
    """Log the failure and, with a webhook configured, send it; returns the payload."""
    summary = failure_summary(context)
    context.log.error(describe(summary))
    if webhook_url:
        if post_webhook(webhook_url, summary, context.log):
            context.log.info(f"alert for run {summary['run_id']} sent to the webhook")
    return summary
