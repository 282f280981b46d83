"""The salt of the email and phone hashes, resolved where a run needs it.

RCL_PII_SALT when set; otherwise the data dir's own random salt, `<data-dir>/secrets/pii_salt`
(64 hex digits from `secrets.token_hex(32)`, file mode 0600), created atomically by the first
run, `rcl dbt` or `rcl env` that needs it and read by every later one, so re-runs hash
identically. `Settings.from_env` never creates it (reading settings writes nothing). Where it
lives, backing it up and rotating it: docs/privacy.md, "Salts and pseudonyms".
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

from dagster_project.settings import Settings, check_pii_salt

SALT_FILE = Path("secrets") / "pii_salt"


def salt_path(data_dir: Path) -> Path:
    return Path(data_dir) / SALT_FILE


def read_data_dir_salt(data_dir: Path) -> str | None:
    """The data dir's salt, or None when it has none yet (reads only)."""
    path = salt_path(data_dir)
    try:
        salt = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    if not salt:
        raise ValueError(f"{path} is empty: restore it from a backup (docs/privacy.md, Salts and pseudonyms)")
    return salt


def ensure_data_dir_salt(data_dir: Path) -> str:
    """The data dir's salt, created when absent: written to a private temporary file and linked
    into place, so two processes starting at once agree on one salt and nobody reads half a file."""
    existing = read_data_dir_salt(data_dir)
    if existing is not None:
        return existing
    path = salt_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)  # fails when another process got there first: theirs is kept
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return read_data_dir_salt(data_dir)


def with_pii_salt(settings: Settings) -> Settings:
    """`settings` with its PII salt resolved (RCL_PII_SALT, else the data dir's, created when
    absent), checked against the profile. Call it where hashing is about to happen: a run, a dbt
    command, the erasure of a customer."""
    if settings.pii_salt is not None:
        check_pii_salt(settings.pii_salt, settings.profile)
        return settings
    return dataclasses.replace(settings, pii_salt=ensure_data_dir_salt(settings.data_dir))


def known_pii_salt(settings: Settings) -> str | None:
    """The salt a data dir's warehouse was hashed with, without creating one (RCL_PII_SALT, else the
    data dir's file; None when neither exists): for readers such as the identity benchmark."""
    return settings.pii_salt if settings.pii_salt is not None else read_data_dir_salt(settings.data_dir)
