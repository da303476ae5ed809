"""`medllm serve` as an operator starts it: one command, the first key in a 0600 file (never printed), keys managed from the
command line (real subprocess, the packaged 0.5B model, 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from support import free_port, stop


def medllm(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medllm", *args], capture_output=True, text=True, env=env, timeout=120)


def test_one_command_starts_it_and_keys_are_managed_from_the_cli(tmp_path):
    # the triage judge (a second, larger model) is not what this test is about
    env = {**os.environ, "MEDLLM_HOME": str(tmp_path), "MEDLLM_TRIAGE_JUDGE": "off"}
    port = free_port()
    out, err = (tmp_path / "server.out").open("w+"), (tmp_path / "server.err").open("w+")  # files: a pipe could fill
    proc = subprocess.Popen(
        [sys.executable, "-m", "medllm", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--model", "qwen2.5-coder-0.5b-instruct", "--no-kb", "--no-kg", "--max-tokens", "8"],
        env=env, stdout=out, stderr=err, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("medllm serve did not come up")
            time.sleep(0.5)
        # no key yet: one is made and written to a file only its owner can read; its path is printed
        key_file = tmp_path / "serve" / "first-key"
        key = key_file.read_text().strip()
        assert key.startswith("mk_") and key_file.stat().st_mode & 0o777 == 0o600
        printed = (tmp_path / "server.out").read_text() + (tmp_path / "server.err").read_text()
        assert str(key_file) in printed and key not in printed and key.split("_", 2)[2] not in printed
        assert httpx.get(f"{url}/metrics").status_code == 401  # behind a key by default
        auth = {"Authorization": f"Bearer {key}"}
        r = httpx.post(f"{url}/v1/chat/completions", headers=auth, timeout=180,
                       json={"model": "medllm-ask", "messages": [{"role": "user", "content": "Name an antibiotic."}]})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
        assert r.json()["usage"]["completion_tokens"] <= 8 + 2  # the server's cap

        listed = medllm("serve", "keys", "list", env=env)
        assert "default" in listed.stdout and key not in listed.stdout
        added = medllm("serve", "keys", "add", "ward-7", env=env)
        new_key = added.stdout.strip().splitlines()[-1]
        assert httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {new_key}"}).status_code == 200
        assert medllm("serve", "keys", "revoke", "default", env=env).returncode == 0
        assert httpx.get(f"{url}/v1/models", headers=auth).status_code == 401
        bad = medllm("serve", "keys", "add", "no spaces please", env=env)
        assert bad.returncode == 2 and "key name" in bad.stderr
    finally:
        stop(proc)
        out.close()
        err.close()
