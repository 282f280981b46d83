"""`rcl serve` from a fresh shell (no project variables exported): the documented command starts
the server with two worker processes on 127.0.0.1, and it answers reads until stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from dagster_project.settings import REPO_ROOT
from test_serving_support import build_served_world, column, free_port, post


def test_rcl_serve_from_a_fresh_shell(tmp_path):
    data_dir = tmp_path / "data"
    build_served_world(data_dir, feast_project="retail_context")  # the default project name
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "dagster_project.cli", "serve", "--port", str(port),
                               "--data-dir", str(data_dir), "--workers", "2"],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read().decode()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "rcl serve did not answer within 120 s"
                time.sleep(0.5)
        for _ in range(20):  # several requests: whichever worker takes them answers the same
            status, answer = post(port, "/get-online-features", {
                "feature_service": "cart_recovery_v1", "entities": {"customer_id": ["cus_a"]}})
            assert status == 200, answer
            assert column(answer, "cart_value")["values"] == [99.5]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_rcl_serve_refuses_a_data_dir_without_a_registry(tmp_path):
    out = subprocess.run([sys.executable, "-m", "dagster_project.cli", "serve", "--data-dir", str(tmp_path)],
                         env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT)}, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1
    assert "no Feast registry" in out.stderr
