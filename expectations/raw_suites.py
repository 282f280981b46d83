"""Great Expectations suites for the raw source tables, generated from the source contracts and
run on a bounded, seeded sample of each table, plus its DuckDB column types: a second line
after ingestion's row checks (docs/adr/raw-suites-as-a-second-line.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dagster_project.contracts import SourceEntity

# Rows validated per raw table (reservoir sample, fixed seed so a re-run sees the same rows).
RAW_SAMPLE_ROWS = 200_000
RAW_SAMPLE_SEED = 42


def sample_query(contract: SourceEntity, rows: int = RAW_SAMPLE_ROWS) -> str:
    """The sample GX validates: the contract columns (money as DOUBLE for pandas) and the file."""
    columns = []
    for c in contract.columns:
        name = '"' + c.name + '"'
        if c.type.startswith("DECIMAL"):
            columns.append(f"{name}::double as {name}")
        elif c.type == "JSON":
            columns.append(f"{name}::varchar as {name}")
        else:
            columns.append(name)
    columns.append("_source_file")
    return (
        f"select {', '.join(columns)} from {contract.raw_table} "
        f"using sample reservoir({rows} rows) repeatable ({RAW_SAMPLE_SEED})"
    )


def raw_suite(contract: SourceEntity, now: datetime | None = None, future_tolerance: timedelta = timedelta(days=1)):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    expectations = [gxe.ExpectColumnToExist(column=c.name) for c in contract.columns]
    # One row per key and file (events and snapshots); across files a key may repeat
    # (corrections, upserts), and staging keeps the latest.
    expectations.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=[*contract.primary_key, "_source_file"]))
    for c in contract.columns:
        if c.required or c.name in contract.primary_key:
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=c.name))
        if c.accepted_values:
            expectations.append(gxe.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.accepted_values)))
        if c.min_value is not None or c.max_value is not None:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(column=c.name, min_value=c.min_value, max_value=c.max_value)
            )
        if c.name == contract.event_time:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(column=c.name, max_value=now + future_tolerance)
            )
    return gx.ExpectationSuite(name=f"raw_{contract.name}", expectations=expectations)


def type_mismatches(conn, contract: SourceEntity) -> list[dict]:
    """Columns of the raw table whose DuckDB type is not the contract's (checked on the table)."""
    schema, table = contract.raw_table.split(".")
    actual = dict(
        conn.execute(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    )
    problems = []
    for c in contract.columns:
        expected = "TIMESTAMP" if c.is_timestamp else c.type
        if actual.get(c.name) != expected:
            problems.append({"column": c.name, "expected": expected, "actual": actual.get(c.name)})
    return problems
