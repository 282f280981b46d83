"""The run's terminal output and log file (dagster_project/run_log.py) on a real Dagster run of
a tiny job: one line per asset with rows and checks, warnings and errors in full on the
terminal, every event in the log file."""

import io
import logging

import dagster as dg

from dagster_project.run_log import RunProgress, expected_checks, log_to_file, terminal_logging

LONG_WARNING = "orders.csv: column(s) not in the contract kept in _extra_columns: " + ", ".join(
    f"unexpected_column_{i}" for i in range(30)) + "\nsecond line of the warning"


@dg.asset
def orders(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.warning(LONG_WARNING)
    context.log.debug("a debug message for the log file only")
    return dg.MaterializeResult(metadata={"dagster/row_count": 1234})


@dg.asset_check(asset=orders)
def orders_not_empty() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset_check(asset=orders)
def orders_reconciled() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(deps=[orders])
def published() -> None:
    return None


@dg.asset(deps=[published])
def broken() -> None:
    raise RuntimeError("the broken asset fails\nwith a second line")


def _run(tmp_path):
    """The tiny job, run the way `rcl run` runs the pipeline: (terminal, stderr, log text, progress)."""
    job = dg.Definitions(assets=[orders, published, broken], asset_checks=[orders_not_empty, orders_reconciled],
                         jobs=[dg.define_asset_job("tiny", selection=dg.AssetSelection.all())]).resolve_job_def("tiny")
    out, err = io.StringIO(), io.StringIO()
    handler = terminal_logging(err)
    run_id = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    progress = RunProgress(out, expected_checks(job))
    try:
        with dg.DagsterInstance.ephemeral() as instance, log_to_file(tmp_path / "run.log"):
            instance.add_event_listener(run_id, progress)
            result = job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False,
                                            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    finally:
        logging.getLogger().removeHandler(handler)
    assert not result.success  # `broken` failed
    return out.getvalue(), err.getvalue(), (tmp_path / "run.log").read_text(), progress


def test_one_line_per_asset_with_rows_and_checks(tmp_path):
    out, _, _, progress = _run(tmp_path)
    lines = out.splitlines()
    assert len(lines) == progress.printed == 2, out  # orders; published shares a line with nothing else
    assert "orders" in lines[0] and "1,234 rows" in lines[0]
    assert "checks 1/2 passed" in lines[0] and "FAILED: orders_reconciled (warn)" in lines[0]
    assert lines[1] == "  materialized: published"


def test_warnings_and_errors_in_full_on_the_terminal_and_everything_in_the_log(tmp_path):
    _, err, log, _ = _run(tmp_path)
    assert LONG_WARNING in err  # every column name and the second line
    assert "RuntimeError: the broken asset fails\nwith a second line" in err  # the error with its trace
    assert "a debug message for the log file only" not in err
    for text in (LONG_WARNING, "a debug message for the log file only", "STEP_START", "ASSET_MATERIALIZATION",
                 "RuntimeError: the broken asset fails"):
        assert text in log
