"""Settings come only from the environment; run each configuration in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode" if connection.vendor == "sqlite" else "SELECT 'n/a'")
    journal = cursor.fetchone()[0]
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "journal": journal,
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "secret": settings.SECRET_KEY,
}))
"""


def run_probe(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    clean.pop("SECRET_KEY", None)
    clean.pop("DEBUG", None)
    clean.pop("ALLOWED_HOSTS", None)
    clean.update(DJANGO_SETTINGS_MODULE="smsbox.settings", SMSBOX_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_nothing_set_smsbox_runs_on_embedded_defaults(tmp_path):
    first = run_probe(tmp_path)
    second = run_probe(tmp_path)

    assert first.returncode == 0, first.stderr
    config = json.loads(first.stdout)
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["journal"] == "wal"
    assert config["broker"] == "filesystem://"
    assert config["cache"].endswith("FileBasedCache")
    assert config["debug"] is True
    assert len(config["secret"]) >= 50
    assert json.loads(second.stdout)["secret"] == config["secret"]  # kept in var/
    assert (tmp_path / "secret_key").exists()


def test_database_and_redis_urls_switch_to_postgresql_and_redis(tmp_path):
    result = run_probe(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["broker"] == "redis://127.0.0.1:6379/0"
    assert config["cache"].endswith("RedisCache")


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"DEBUG": "false", "ALLOWED_HOSTS": "example.com"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "x" * 50}, "ALLOWED_HOSTS"),
    ],
)
def test_with_debug_off_smsbox_refuses_to_start_without_secrets(tmp_path, env, missing):
    result = run_probe(tmp_path, **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_with_debug_off_and_both_set_smsbox_starts(tmp_path):
    result = run_probe(tmp_path, DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.com")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is False


@pytest.mark.parametrize(("raw", "debug"), [("true", True), ("0", False), ("No", False)])
def test_booleans_read_the_usual_spellings(tmp_path, raw, debug):
    result = run_probe(tmp_path, DEBUG=raw, SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.com")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is debug


def test_a_misspelt_boolean_stops_the_start_up(tmp_path):
    result = run_probe(tmp_path, SMSBOX_WEBHOOK_ALLOW_PRIVATE="ture")

    assert result.returncode != 0
    assert "SMSBOX_WEBHOOK_ALLOW_PRIVATE must be true or false" in result.stderr
