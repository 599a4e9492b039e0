"""`make run` on a clean checkout, with no DATABASE_URL or REDIS_URL, serves /healthz, and
Ctrl-C stops the web server, the worker and beat."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 240


def clean_checkout(target: Path) -> Path:
    """The files git would check out (tracked, plus new files not ignored), nothing else."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # The suite's own virtualenv, already installed from the same pyproject.toml.
    (target / ".venv").symlink_to(Path(sys.prefix))
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_in(directory: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(directory):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_for_health(url: str, process: subprocess.Popen) -> httpx.Response | None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(1)
    return None


@pytest.mark.slow
def test_make_run_serves_healthz_and_stops_on_ctrl_c(tmp_path):
    checkout = clean_checkout(tmp_path / "smsbox")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SMSBOX_VAR_DIR", "DJANGO_SETTINGS_MODULE"}
    }
    log = (tmp_path / "make-run.log").open("w+")
    process = subprocess.Popen(
        ["make", "run", f"HTTP_PORT={port}"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        response = wait_for_health(f"http://127.0.0.1:{port}/healthz", process)
        # when: Ctrl-C
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        time.sleep(1)
        left = processes_in(checkout)
    finally:
        for pid in processes_in(checkout):
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    log.seek(0)
    output = log.read()

    assert response is not None, output[-3000:]
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert (checkout / "var" / "smsbox.sqlite3").exists()  # embedded defaults, no PostgreSQL
    assert "demo API key: " in output
    assert left == [], f"still running after Ctrl-C: {left}"
