"""A person's identifiers: their kinds, and the salted hashes dbt computes for emails and phones
(dbt/macros/hash_pii.sql), written here as DuckDB expressions so that an identifier given on the
command line, a clear-text column of a raw table and a landing row hash exactly as staging does
(tests/test_privacy.py compares them with dbt's own output on a whole build)."""

from __future__ import annotations

from functools import lru_cache

import yaml

from dagster_project.settings import DBT_PROJECT_DIR, Settings

# The kinds of identifier a deletion request may name (the `rcl forget` flags), as the identity
# graph types them (int_identity_edges); customer_id is the warehouse's own pseudonymous id.
REQUEST_KINDS = {
    "email": "email_hash",
    "phone": "phone_hash",
    "account_id": "oms_customer_id",
    "crm_id": "crm_customer_id",
    "cookie": "anonymous_id",
    "customer_id": "customer_id",
}
# Every kind the deletion looks for; order and cart ids are found from the person's customer ids.
KINDS = ("customer_id", "oms_customer_id", "crm_customer_id", "anonymous_id", "email_hash", "phone_hash",
         "order_id", "cart_id")
HASHED_KINDS = ("email_hash", "phone_hash")
# The ids (not hashes) among them: a person's customer, account, CRM, cookie, order and cart ids.
ID_KINDS = tuple(kind for kind in KINDS if kind not in HASHED_KINDS)


def resolved_salt(settings: Settings) -> str:
    """The salt to hash with; refuses settings whose salt was never resolved (a hash of "None"
    would match nothing and let a forgotten person back in)."""
    if settings.pii_salt is None:
        raise ValueError("the PII salt is not resolved: pass the settings through pii_salt.with_pii_salt first")
    return settings.pii_salt


def sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


@lru_cache(maxsize=1)
def junk_email_pattern() -> str:
    """The placeholder-email pattern dbt reads (var identity_junk_email_pattern)."""
    with open(DBT_PROJECT_DIR / "dbt_project.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)["vars"]["identity_junk_email_pattern"]


def email_hash_sql(column: str, settings: Settings) -> str:
    """hash_email(column) of dbt/macros/hash_pii.sql."""
    email = f"lower(trim({column}))"
    return (f"case when nullif({email}, '') is not null and not regexp_matches({email}, "
            f"{sql_literal(junk_email_pattern())}) then sha256({sql_literal(resolved_salt(settings))} || {email}) end")


def normalized_phone_sql(column: str, settings: Settings) -> str:
    """normalize_phone(column) of dbt/macros/hash_pii.sql: international digits, or null."""
    country, trunk = settings.phone_country_code.strip(), settings.phone_trunk_prefix.strip()
    digits = f"regexp_replace(coalesce({column}, ''), '[^0-9]', '', 'g')"
    whens = [
        f"when regexp_replace(replace(coalesce({column}, ''), '(0)', ''), '[^0-9+]', '', 'g') like '+%' "
        f"then regexp_replace(replace({column}, '(0)', ''), '[^0-9]', '', 'g')",
        f"when {digits} like '00%' then substr({digits}, 3)",
    ]
    if country:
        if trunk:
            whens.append(f"when {digits} like {sql_literal(trunk + '%')} "
                         f"then {sql_literal(country)} || substr({digits}, {len(trunk) + 1})")
        whens.append(f"when {digits} like {sql_literal(country + '%')} then {digits}")
        whens.append(f"else {sql_literal(country)} || {digits}")
    else:
        whens.append("else null")
    return f"(case {' '.join(whens)} end)"


def phone_hash_sql(column: str, settings: Settings) -> str:
    """hash_phone(column) of dbt/macros/hash_pii.sql."""
    phone = normalized_phone_sql(column, settings)
    return f"case when length({phone}) >= 6 then sha256({sql_literal(resolved_salt(settings))} || {phone}) end"


def id_hash_sql(kind: str, column: str, settings: Settings) -> str:
    """The suppression list's hash of an id of `kind` (not an email or phone: those keep their
    staging hash): salted SHA-256 of `<kind>:<trimmed value>`."""
    return (f"case when nullif(trim({column}), '') is not null then "
            f"sha256({sql_literal(resolved_salt(settings))} || {sql_literal(kind + ':')} || trim({column})) end")


def hash_sql(kind: str, column: str, settings: Settings) -> str:
    """The suppression hash of `column` read as an identifier of `kind`."""
    if kind == "email_hash":
        return email_hash_sql(column, settings)
    if kind == "phone_hash":
        return phone_hash_sql(column, settings)
    return id_hash_sql(kind, column, settings)


def hash_identifier(conn, kind: str, value: str, settings: Settings) -> str | None:
    """The hash of one clear-text identifier of `kind` (None: an email or phone that identifies
    nobody, e.g. a placeholder address, or a national phone without a configured country)."""
    return conn.execute(f"select {hash_sql(kind, '$1::varchar', settings)}", [value]).fetchone()[0]


def node_value(conn, kind: str, value: str, settings: Settings) -> str | None:
    """The identifier as the identity graph stores it: the staging hash of an email or phone,
    the trimmed value of an id."""
    if kind in HASHED_KINDS:
        return hash_identifier(conn, kind, value, settings)
    return value.strip() or None
