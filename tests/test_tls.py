"""`openagc serve --ssl-certfile/--ssl-keyfile` serves the Agent API over HTTPS (a self-signed certificate made
with `openssl req` in the test's temporary directory)."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import httpx
import pytest

from tests.cli_support import free_port, serving


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_version_over_https(tmp_path, certificate):
    cert, key = certificate
    port = free_port()
    args = ("--port", str(port), "--engine", "off", "--database", str(tmp_path / "tls.db"),
            "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    url = f"https://127.0.0.1:{port}/agc/api.php?function=version"
    with serving(*args, cwd=tmp_path, url=url, verify=ssl.create_default_context(cafile=cert)) as first:
        assert first.status_code == 200
        assert first.url.scheme == "https"
        assert first.text.startswith("VERSION: 2.14-82|BUILD: 250122-1010|")
        with pytest.raises(httpx.TransportError):  # the port speaks TLS only
            httpx.get(f"http://127.0.0.1:{port}/agc/api.php?function=version", timeout=5)
    assert f"https://127.0.0.1:{port}/agc/api.php" in (tmp_path / "serve.log").read_text()
