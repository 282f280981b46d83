"""Identity-resolution scoring against the generator's ground truth.

Pairwise precision and recall over identifiers: every pair of identifiers that the ground truth
puts on one person is a true pair; every pair that `intermediate.int_identities_stitched` puts
in one customer is a predicted pair; pairs that are both are true positives.

Ground-truth identifiers are brought into the warehouse's form first: emails become
sha256(salt || lower(trim(email))) (type email_hash), phones sha256(salt || international digits, as normalize_phone) (type
phone_hash), the ids (anonymous_id, oms_customer_id, crm_customer_id) are trimmed. Identifiers of
person 'shared' (store-kiosk cookies, junk emails) belong to nobody and are left out. A
ground-truth identifier the stitched table does not know, or knows without a customer (a shared
identifier cut by the over-merge guard), counts as a customer of its own.

`recall` (the headline figure) counts every true pair. Some identifiers cannot be linked by
anybody: a cookie that never logged in, never identified, never completed an order and never
landed from a newsletter link appears in no source row next to another identifier. `recall_linkable`
is the recall over the pairs whose two identifiers both have linking evidence, decided from the
landing data as ingested (the warehouse's raw.* tables), not from the generator: an identifier has
linking evidence when a raw row that carries it also carries another ground-truth identifier
(not a 'shared' one), directly or through an order the row names. The rows read are web events
(anonymous_id with user_id, traits email/phone, properties.order_id and the subscriber token
`rcl_sub` of a newsletter landing URL), orders (order_id, oms_customer_id, email, phone), CRM
customers (crm_customer_id, oms_customer_id, email, phone) and support tickets (crm_customer_id,
email, order_id). Values are compared in the warehouse's form (hashed emails/phones, trimmed ids),
so a junk token or a placeholder email is no evidence. `linkable_identifiers` counts them;
`recall_linkable` is None when the warehouse has no raw tables.

    python -m bench.identity --data-dir DIR [--salt SALT]

reads DIR/warehouse.duckdb and DIR/ground_truth/identities.parquet. Stable interface:
score_identity(warehouse_path, ground_truth_path, salt) -> dict with precision, recall,
recall_linkable and the pair and identifier counts behind them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from dagster_project.settings import Settings

STITCHED_TABLE = "intermediate.int_identities_stitched"
# The URL parameter the ESP's click redirect appends to newsletter links (the CRM record).
SUBSCRIBER_PARAM = "rcl_sub"
_EVIDENCE_TABLES = ("web__events", "oms__orders", "crm__customers", "crm__support_tickets")


def default_salt(settings: Settings | None = None) -> str:
    """The salt dbt hashed the data dir's warehouse with (default: the environment's settings):
    RCL_PII_SALT, else the data dir's own salt file, read as the pipeline resolved it
    (dagster_project/pii_salt.py); never created here, a new salt would match no hash."""
    from dagster_project.pii_salt import known_pii_salt, salt_path

    settings = settings or Settings.from_env()
    salt = known_pii_salt(settings)
    if salt is None:
        raise ValueError(f"no PII salt: RCL_PII_SALT is unset and {salt_path(settings.data_dir)} does not exist "
                         "(give --salt, or score a data dir a run has built)")
    return salt


# The international digits-only form of dbt/macros/hash_pii.sql::normalize_phone (national numbers
# take the default country code 49), applied to the ground truth's phones as typed.
_PHONE_SQL = """(case
    when regexp_replace(replace(cast(identifier_value as varchar), '(0)', ''), '[^0-9+]', '', 'g') like '+%'
        then regexp_replace(replace(cast(identifier_value as varchar), '(0)', ''), '[^0-9]', '', 'g')
    when regexp_replace(cast(identifier_value as varchar), '[^0-9]', '', 'g') like '00%'
        then substr(regexp_replace(cast(identifier_value as varchar), '[^0-9]', '', 'g'), 3)
    when regexp_replace(cast(identifier_value as varchar), '[^0-9]', '', 'g') like '0%'
        then '49' || substr(regexp_replace(cast(identifier_value as varchar), '[^0-9]', '', 'g'), 2)
    else regexp_replace(cast(identifier_value as varchar), '[^0-9]', '', 'g')
end)"""


def _sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _warehouse_form(type_col: str, value_col: str, salt_sql: str) -> tuple[str, str]:
    """(type, value) expressions turning raw identifiers (email, phone, ids) into the stitched form."""
    phone = _PHONE_SQL.replace("identifier_value", value_col)
    return (
        f"case {type_col} when 'email' then 'email_hash' when 'phone' then 'phone_hash' else {type_col} end",
        f"""case {type_col}
                when 'email' then sha256({salt_sql} || lower(trim(cast({value_col} as varchar))))
                when 'phone' then sha256({salt_sql} || {phone})
                else trim(cast({value_col} as varchar))
            end""",
    )


def _linkable_identifiers(conn, salt_sql: str) -> bool:
    """Create temp table `linkable` (identifier_type, identifier_value) of the ground-truth
    identifiers with linking evidence in the warehouse's raw tables; False if they are missing."""
    present = {r[0] for r in conn.execute(
        "select table_name from duckdb_tables() where database_name = 'wh' and schema_name = 'raw'").fetchall()}
    if not all(t in present for t in _EVIDENCE_TABLES):
        return False
    token = f"nullif(regexp_extract(json_extract_string(context, '$.page.url'), '[?&]{SUBSCRIBER_PARAM}=([^&#]*)', 1), '')"
    type_sql, value_sql = _warehouse_form("kind", "raw_value", salt_sql)
    conn.execute(
        f"""
        create temp table mention as
        select distinct row_id, {type_sql} as identifier_type, {value_sql} as identifier_value
        from (
            select row_id, kind, raw_value from (
                select 'web:' || _source_file || ':' || _source_line as row_id,
                       anonymous_id, user_id,
                       json_extract_string(traits, '$.email') as email,
                       json_extract_string(traits, '$.phone') as phone,
                       json_extract_string(properties, '$.order_id') as order_id,
                       {token} as crm_customer_id
                from wh.raw.web__events
                -- only rows that can carry a second identifier (cheap text tests before JSON parsing)
                where user_id is not null or traits is not null
                   or cast(properties as varchar) like '%"order_id"%'
                   or cast(context as varchar) like '%{SUBSCRIBER_PARAM}=%'
            ) unpivot (raw_value for kind in (anonymous_id, user_id as 'oms_customer_id', email, phone,
                                              order_id, crm_customer_id))
            union all
            select row_id, kind, raw_value from (
                select 'oms:' || _source_file || ':' || _source_line as row_id, order_id, oms_customer_id, email, phone
                from wh.raw.oms__orders
            ) unpivot (raw_value for kind in (order_id, oms_customer_id, email, phone))
            union all
            select row_id, kind, raw_value from (
                select 'crm:' || _source_file || ':' || _source_line as row_id, crm_customer_id, oms_customer_id, email, phone
                from wh.raw.crm__customers
            ) unpivot (raw_value for kind in (crm_customer_id, oms_customer_id, email, phone))
            union all
            select row_id, kind, raw_value from (
                select 'ticket:' || _source_file || ':' || _source_line as row_id, crm_customer_id, email, order_id
                from wh.raw.crm__support_tickets
            ) unpivot (raw_value for kind in (crm_customer_id, email, order_id))
        )
        where raw_value is not null and trim(cast(raw_value as varchar)) <> ''
        """
    )
    conn.execute(
        """
        create temp table linkable as
        with known as (
            -- mentions of ground-truth identifiers of a person ('shared' ones are not in truth)
            select mention.* from mention
            inner join (select distinct identifier_type, identifier_value from truth) using (identifier_type, identifier_value)
        ),
        order_rows as (select row_id, identifier_value as order_id from mention where identifier_type = 'order_id'),
        row_partners as (
            -- what a row ties together: its own identifiers and those of every row naming the same order
            select row_id, identifier_type, identifier_value from known
            union
            select a.row_id, known.identifier_type, known.identifier_value
            from order_rows as a
            inner join order_rows as b using (order_id)
            inner join known on known.row_id = b.row_id
        )
        select distinct known.identifier_type, known.identifier_value
        from known
        inner join row_partners as partner
            on partner.row_id = known.row_id
           and not (partner.identifier_type = known.identifier_type and partner.identifier_value = known.identifier_value)
        """
    )
    return True


def score_identity(warehouse_path, ground_truth_path, salt: str) -> dict:
    """Pairwise precision/recall of the warehouse's identity stitching against the ground truth."""
    import duckdb

    conn = duckdb.connect()
    try:
        conn.execute(f"attach {_sql_literal(str(warehouse_path))} as wh (read_only)")
        salt_sql = _sql_literal(salt)
        conn.execute(
            f"""
            create temp table truth as
            select distinct person_id, identifier_type, identifier_value from (
                select
                    cast(person_id as varchar) as person_id,
                    case identifier_type when 'email' then 'email_hash' when 'phone' then 'phone_hash'
                         else identifier_type end as identifier_type,
                    case identifier_type
                        when 'email' then sha256({salt_sql} || lower(trim(cast(identifier_value as varchar))))
                        when 'phone' then sha256({salt_sql} || {_PHONE_SQL})
                        else trim(cast(identifier_value as varchar))
                    end as identifier_value
                from read_parquet({_sql_literal(str(ground_truth_path))})
                where cast(person_id as varchar) <> 'shared'
                  and identifier_value is not null and trim(cast(identifier_value as varchar)) <> ''
            )
            """
        )
        conn.execute(
            f"""
            create temp table scored as
            select truth.person_id, truth.identifier_type, truth.identifier_value,
                   -- unknown or customer-less identifiers are a customer of their own
                   coalesce(stitched.customer_id,
                            '__alone__' || truth.identifier_type || ':' || truth.identifier_value) as customer_id,
                   stitched.customer_id is not null as is_stitched
            from truth
            left join (
                select identifier_type, identifier_value, any_value(customer_id) as customer_id
                from wh.{STITCHED_TABLE}
                where customer_id is not null
                group by all
            ) as stitched using (identifier_type, identifier_value)
            """
        )
        has_evidence = _linkable_identifiers(conn, salt_sql)
        if has_evidence:
            linkable_identifiers, linkable_true_pairs, linkable_true_positives = conn.execute(
                """
                with linked as (
                    select scored.* from scored inner join linkable using (identifier_type, identifier_value)
                )
                select (select count(*) from linked),
                       (select coalesce(sum(n * (n - 1) // 2), 0)
                        from (select count(*) as n from linked group by person_id)),
                       (select coalesce(sum(n * (n - 1) // 2), 0)
                        from (select count(*) as n from linked group by person_id, customer_id))
                """
            ).fetchone()
        (true_pairs,) = conn.execute(
            "select coalesce(sum(n * (n - 1) // 2), 0) from (select count(*) as n from scored group by person_id)"
        ).fetchone()
        (predicted_pairs,) = conn.execute(
            "select coalesce(sum(n * (n - 1) // 2), 0) from (select count(*) as n from scored group by customer_id)"
        ).fetchone()
        (true_positives,) = conn.execute(
            "select coalesce(sum(n * (n - 1) // 2), 0) from (select count(*) as n from scored group by person_id, customer_id)"
        ).fetchone()
        # identifiers outside their person's main customer (the customer holding most of them), by type
        split_by_type = dict(conn.execute(
            """
            with per as (select person_id, customer_id, count(*) as n from scored group by all),
            main as (select person_id, arg_max(customer_id, n) as customer_id from per group by all)
            select scored.identifier_type, count(*)
            from scored join main using (person_id)
            where scored.customer_id <> main.customer_id
            group by all order by 2 desc
            """
        ).fetchall())
        identifiers, stitched, people, customers = conn.execute(
            "select count(*), count(*) filter (where is_stitched), count(distinct person_id), "
            "count(distinct customer_id) filter (where is_stitched) from scored"
        ).fetchone()
    finally:
        conn.close()
    true_pairs, predicted_pairs, true_positives = int(true_pairs), int(predicted_pairs), int(true_positives)
    linkable = None
    if has_evidence:
        linkable_true_pairs, linkable_true_positives = int(linkable_true_pairs), int(linkable_true_positives)
        linkable = {
            "recall_linkable": linkable_true_positives / linkable_true_pairs if linkable_true_pairs else 1.0,
            "linkable_true_positive_pairs": linkable_true_positives,
            "linkable_true_pairs": linkable_true_pairs,
            "linkable_identifiers": int(linkable_identifiers),
        }
    return {
        "precision": true_positives / predicted_pairs if predicted_pairs else 1.0,
        "recall": true_positives / true_pairs if true_pairs else 1.0,
        "recall_linkable": linkable["recall_linkable"] if linkable else None,
        "true_positive_pairs": true_positives,
        "predicted_pairs": predicted_pairs,
        "true_pairs": true_pairs,
        "identifiers": int(identifiers),
        "identifiers_stitched": int(stitched),
        "people": int(people),
        "customers": int(customers),
        "split_identifiers_by_type": {k: int(v) for k, v in split_by_type.items()},
        **({k: v for k, v in linkable.items() if k != "recall_linkable"} if linkable else {}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.identity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, type=Path,
                        help="data dir holding warehouse.duckdb and ground_truth/identities.parquet")
    parser.add_argument("--warehouse", type=Path, help="warehouse file (default: DATA_DIR/warehouse.duckdb)")
    parser.add_argument("--ground-truth", type=Path, help="default: DATA_DIR/ground_truth/identities.parquet")
    parser.add_argument("--salt", default=None,
                        help="PII salt (default: $RCL_PII_SALT, else DATA_DIR/secrets/pii_salt, the salt the run used)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    warehouse = args.warehouse or args.data_dir / "warehouse.duckdb"
    truth = args.ground_truth or args.data_dir / "ground_truth" / "identities.parquet"
    for path in (warehouse, truth):
        if not path.exists():
            print(f"not found: {path}", file=sys.stderr)
            return 2
    result = score_identity(warehouse, truth, args.salt if args.salt is not None else default_salt(
        Settings.from_env({**os.environ, "RCL_DATA_DIR": str(args.data_dir)})))
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        linkable = result["recall_linkable"]
        print(f"precision {result['precision']:.4f}  recall {result['recall']:.4f}  "
              f"recall_linkable {'n/a' if linkable is None else f'{linkable:.4f}'}  "
              f"({result['true_positive_pairs']} true-positive pairs of {result['predicted_pairs']} predicted, "
              f"{result['true_pairs']} true; {result['identifiers_stitched']}/{result['identifiers']} identifiers stitched"
              + ("" if linkable is None else f"; {result['linkable_identifiers']} with linking evidence") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
