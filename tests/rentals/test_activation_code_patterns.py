"""SMSBOX_CODE_PATTERNS is read and checked when smsbox starts, not on the first SMS."""

import os
import subprocess
import sys
from pathlib import Path

PROGRAM = (
    "import django; django.setup(); "
    "from django.conf import settings; from rentals.codes import extract_code; "
    "print(settings.SMSBOX_CODE_PATTERNS); print(extract_code('KEY 1234567, code 99'))"
)


def start(patterns: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smsbox.settings",
        "SMSBOX_VAR_DIR": str(tmp_path),
        "SMSBOX_CODE_PATTERNS": patterns,
    }
    return subprocess.run(
        [sys.executable, "-c", PROGRAM],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_an_invalid_pattern_stops_the_start(tmp_path):
    started = start(r"KEY (?P<code>[0-9]{4,8});;(unclosed", tmp_path)
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert "(unclosed" in started.stderr


def test_patterns_are_separated_by_two_semicolons_and_may_hold_commas(tmp_path):
    started = start(r"KEY (?P<code>[0-9]{4,8}) ;; code (\d+)", tmp_path)
    assert started.returncode == 0, started.stderr
    lines = started.stdout.splitlines()
    assert lines[0] == str([r"KEY (?P<code>[0-9]{4,8})", r"code (\d+)"])
    assert lines[1] == "1234567"


def test_no_patterns_means_the_built_in_list(tmp_path):
    started = start("", tmp_path)
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[0] == "[]"
