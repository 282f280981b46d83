"""What a valid value of each contract type is, as SQL: the checks every row goes through, and
the typed value that is loaded."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from dagster_project.contracts import DATE_PATTERN, TIMESTAMP_PATTERN, Column
from dagster_project.ingestion.tables import literal, quote


# UTC offsets in use world-wide lie within -12:00..+14:00; anything beyond ±14:00 is a corrupt value.
MAX_OFFSET_MINUTES = 14 * 60
_SCALAR_JSON_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR', 'BOOLEAN')"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def type_problem(col: Column) -> str | None:
    """SQL that is a reason when a present value of `col` does not denote exactly one value of
    its type, and null otherwise (also for an empty value). None for text columns.

    DuckDB's casts are lenient where a contract must not be: they round `1.5` into an INTEGER
    and `12.345` into DECIMAL(12,2), read `1e3` as an integer and `yes`/`t`/`1` as booleans,
    turn hour 24 into the next day and accept any UTC offset. Each type is therefore checked
    on its text first, then cast."""
    v = quote(col.name)
    t = f"trim({v})"
    name = col.name

    def reason(text: str) -> str:
        return f"'{name}: ' || {v} || {literal(' ' + text)}"

    def case(*branches: tuple[str, str]) -> str:
        whens = " ".join(f"when {cond} then {reason(text)}" for cond, text in branches)
        return f"case when nullif({t}, '') is null then null {whens} end"

    type_ = col.type.upper()
    if col.is_timestamp:
        offset_hours = f"coalesce(try_cast(regexp_extract({t}, '[+-](\\d{{2}}):?\\d{{2}}$', 1) as integer), 0)"
        offset_minutes = f"coalesce(try_cast(regexp_extract({t}, '[+-]\\d{{2}}:?(\\d{{2}})$', 1) as integer), 0)"
        return case(
            (f"not regexp_full_match({t}, {literal(TIMESTAMP_PATTERN)})", "is not an ISO 8601 timestamp with offset"),
            # the shape is fixed by the pattern: hh at 12-13, mm at 15-16, optional :ss at 17-19
            (f"substr({t}, 12, 2)::integer > 23 or substr({t}, 15, 2)::integer > 59 "
             f"or (substr({t}, 17, 1) = ':' and substr({t}, 18, 2)::integer > 59)",
             "is not a real time of day (hours 00-23, minutes and seconds 00-59; no leap second)"),
            (f"{offset_minutes} > 59 or {offset_hours} * 60 + {offset_minutes} > {MAX_OFFSET_MINUTES}",
             "has an impossible UTC offset (beyond ±14:00)"),
            (f"try_cast({t} as timestamptz) is null", "is not a real calendar date"),
        )
    if type_ == "DATE":
        return case((f"not regexp_full_match({t}, {literal(DATE_PATTERN)}) or try_cast({t} as date) is null",
                     "is not a valid DATE (a real date as YYYY-MM-DD)"))
    if type_ in _INTEGER_TYPES:
        return case((f"not regexp_full_match({t}, '[+-]?[0-9]+') or try_cast({t} as {type_}) is null",
                     f"is not a valid {col.type} (a whole number, without decimals or exponent)"))
    decimal = _DECIMAL.fullmatch(type_)
    if decimal:
        scale = int(decimal.group(2))
        return case(
            (f"not regexp_full_match({t}, '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)') or try_cast({t} as {type_}) is null",
             f"is not a valid {col.type}"),
            (f"length(rtrim(regexp_extract({t}, '[.]([0-9]*)$', 1), '0')) > {scale}",
             f"has more than {scale} decimal places (it would be rounded)"),
        )
    if type_ in _FLOAT_TYPES:
        return case((f"try_cast({t} as DOUBLE) is null or not isfinite(try_cast({t} as DOUBLE))",
                     f"is not a valid {col.type} (a finite number)"))
    if type_ == "BOOLEAN":
        return case((f"lower({t}) not in ('true', 'false')", "is not a valid BOOLEAN (true or false)"))
    if type_ in ("VARCHAR", "JSON"):
        return None
    return case((f"try_cast({t} as {type_}) is null", f"is not a valid {col.type}"))


def column_checks(col: Column, *, future_limit: datetime | None = None, horizon_days: int | None = None,
                   csv_format: bool = False) -> list[str]:
    """SQL expressions that evaluate to a reason string when `col` breaks its contract.
    `horizon_days` bounds how old the value may be before the row's `_delivery_date` (or
    today, for a file not named by day)."""
    v = quote(col.name)
    checks = []
    present = f"nullif(trim({v}), '') is not null"
    if col.required:
        checks.append(f"case when not ({present}) then 'missing required {col.name}' end")
    problem = type_problem(col)
    if problem is not None:
        checks.append(problem)
    if col.type == "JSON":
        is_object = f"coalesce(case when json_valid({v}) then json_type({v}) = 'OBJECT' end, false)"
        checks.append(f"case when {present} and not {is_object} then '{col.name}: not a JSON object' end")
        if csv_format:
            # JSONL lines were checked whole for repeated keys when they were read
            objects = f"list_prepend(json_keys({v}), json_keys({v}, '$.**'))"
            checks.append(
                f"case when {present} and {is_object} and "
                f"len(list_filter({objects}, lambda ks: len(ks) <> len(list_distinct(ks)))) > 0 "
                f"then '{col.name}: JSON object repeats a key' end"
            )
        if col.scalar_values:
            nested = f"list_filter(json_type({v}, '$.*'), lambda t: t not in {_SCALAR_JSON_TYPES})"
            checks.append(
                f"case when {present} and {is_object} and len({nested}) > 0 then '{col.name}: ' || "
                f"'values must be numbers, strings or booleans, not ' || array_to_string(list_distinct({nested}), '/') end"
            )
    if col.accepted_values:
        values = ", ".join(literal(x) for x in col.accepted_values)
        checks.append(
            f"case when {present} and trim({v}) not in ({values}) "
            f"then '{col.name}: ' || {v} || ' is not an accepted value' end"
        )
    typed = typed_expression(col)
    valid = f"({problem}) is null" if problem is not None else "true"
    if col.min_value is not None:
        checks.append(f"case when {valid} and {typed} < {col.min_value} then '{col.name}: ' || {v} || ' is below {col.min_value:g}' end")
    if col.max_value is not None:
        checks.append(f"case when {valid} and {typed} > {col.max_value} then '{col.name}: ' || {v} || ' is above {col.max_value:g}' end")
    if future_limit is not None and col.is_timestamp:
        limit = future_limit.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
        checks.append(
            f"case when {valid} and {typed} > timestamp {literal(limit)} "
            f"then '{col.name}: ' || {v} || ' is in the future (after {limit} UTC)' end"
        )
    if horizon_days is not None and col.is_timestamp:
        start = f"(_horizon_reference - interval {int(horizon_days)} day)"
        checks.append(
            f"case when {valid} and {typed} < {start} "
            f"then '{col.name}: ' || {v} || ' is older than the event horizon ({int(horizon_days)} days before ' "
            f"|| _horizon_reference::date || ')' end"
        )
    return checks


def typed_expression(col: Column) -> str:
    v = f"nullif(trim({quote(col.name)}), '')"
    if col.is_timestamp:
        return f"(try_cast({v} as timestamptz) at time zone 'UTC')"
    if col.type == "VARCHAR":
        if col.accepted_values:
            return v  # a code: checked, and loaded, without the padding around it
        # Free text keeps its own whitespace; a value of only whitespace is empty (null).
        return f"case when {v} is not null then {quote(col.name)} end"
    if col.type == "JSON":
        return f"({v})::json"
    return f"try_cast({v} as {col.type})"
