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

    python -m bench.identity --data-dir DIR [--salt SALT]

reads DIR/warehouse.duckdb and DIR/ground_truth/identities.parquet. Stable interface:
score_identity(warehouse_path, ground_truth_path, salt) -> dict with precision, recall and the
pair and identifier counts behind them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DEFAULT_SALT = "retail-context-dev-salt"
STITCHED_TABLE = "intermediate.int_identities_stitched"


def default_salt() -> str:
    """The salt dbt hashes with: RCL_PII_SALT when set, else dbt_project.yml's default."""
    return os.environ.get("RCL_PII_SALT", DEFAULT_SALT)


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


def score_identity(warehouse_path, ground_truth_path, salt: str = DEFAULT_SALT) -> dict:
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
    return {
        "precision": true_positives / predicted_pairs if predicted_pairs else 1.0,
        "recall": true_positives / true_pairs if true_pairs else 1.0,
        "true_positive_pairs": true_positives,
        "predicted_pairs": predicted_pairs,
        "true_pairs": true_pairs,
        "identifiers": int(identifiers),
        "identifiers_stitched": int(stitched),
        "people": int(people),
        "customers": int(customers),
        "split_identifiers_by_type": {k: int(v) for k, v in split_by_type.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.identity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, type=Path,
                        help="data dir holding warehouse.duckdb and ground_truth/identities.parquet")
    parser.add_argument("--warehouse", type=Path, help="warehouse file (default: DATA_DIR/warehouse.duckdb)")
    parser.add_argument("--ground-truth", type=Path, help="default: DATA_DIR/ground_truth/identities.parquet")
    parser.add_argument("--salt", default=None, help="PII salt (default: $RCL_PII_SALT or the dbt default)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    warehouse = args.warehouse or args.data_dir / "warehouse.duckdb"
    truth = args.ground_truth or args.data_dir / "ground_truth" / "identities.parquet"
    for path in (warehouse, truth):
        if not path.exists():
            print(f"not found: {path}", file=sys.stderr)
            return 2
    result = score_identity(warehouse, truth, args.salt if args.salt is not None else default_salt())
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"precision {result['precision']:.4f}  recall {result['recall']:.4f}  "
              f"({result['true_positive_pairs']} true-positive pairs of {result['predicted_pairs']} predicted, "
              f"{result['true_pairs']} true; {result['identifiers_stitched']}/{result['identifiers']} identifiers stitched)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
