"""Test settings: smsbox.settings with the test defaults of the environment filled in first.

Tests run against the local PostgreSQL and Redis unless DATABASE_URL / REDIS_URL name others.
"""

import os
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsbox")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault(
    "SMSBOX_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test")
)

from smsbox.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
