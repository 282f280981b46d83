"""`rcl forget`: execute a deletion request (registered by dagster_project/cli.py).

    rcl forget (--email ADDRESS | --phone NUMBER | --account-id ID | --crm-id ID | --cookie ID
                | --customer-id ID) [--data-dir DIR] [--online-store sqlite|redis] [--request-id ID]

Exit codes: 0 when the person was deleted from every layer (or had been already: their identifier
is on the suppression list) and nothing of them was found afterwards; 1 when the identifier is
unknown or shared by several customers (nothing changed), or something of them remained.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# command-line flag -> request kind (privacy/identifiers.py REQUEST_KINDS)
FLAGS = {"--email": "email", "--phone": "phone", "--account-id": "account_id", "--crm-id": "crm_id",
         "--cookie": "cookie", "--customer-id": "customer_id"}


def add_forget_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "forget", help="delete a person from every layer (right to be forgotten; docs/privacy.md)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    for flag, kind in FLAGS.items():
        which.add_argument(flag, dest=kind, metavar="VALUE", default=None)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: RCL_DATA_DIR")
    parser.add_argument("--online-store", choices=("sqlite", "redis"), default=None,
                        help="default: RCL_ONLINE_STORE, else sqlite")
    parser.add_argument("--request-id", default=None,
                        help="the request's reference in the audit log (default: generated); never an identifier of the person")
    parser.set_defaults(func=_cmd_forget)


def request_of(args) -> tuple[str, str]:
    """(kind, value) of the one identifier flag given."""
    for kind in FLAGS.values():
        value = getattr(args, kind, None)
        if value is not None:
            return kind, value
    raise ValueError("give one identifier: " + ", ".join(FLAGS))


def _cmd_forget(args) -> int:
    import duckdb

    from dagster_project.cli import EXIT_ERROR, EXIT_OK, settings_for
    from dagster_project.privacy.forget import SharedIdentifier, UnknownIdentifier, forget

    settings = settings_for(args.data_dir, online_store=args.online_store)
    kind, value = request_of(args)
    if not value.strip():
        print(f"rcl forget: the {kind.replace('_', '-')} is empty", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = forget(settings, kind, value, request_id=args.request_id)
    except UnknownIdentifier as exc:
        print(f"rcl forget: unknown identifier, nothing changed: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except SharedIdentifier as exc:
        print(f"rcl forget: nothing changed: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except duckdb.IOException as exc:  # another process (a pipeline run) holds the warehouse
        print(f"rcl forget: the warehouse is in use, nothing changed; run it again when the run has finished ({exc})",
              file=sys.stderr)
        return EXIT_ERROR
    print(report.render())
    if report.remaining:
        print(f"rcl forget: NOT VERIFIED, still found: {report.remaining}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
