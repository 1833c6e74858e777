"""``dockyard serve`` and ``dockyard db upgrade`` as a user runs them: TLS, logs, configuration."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dockyard.cli.main import cli
from dockyard.config import load_settings
from dockyard.metadata.migrate import current_tables
from tests.support.backends import AppBackend, Backends
from tests.support.servers import LiveServer


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("key_format", ["pkcs8", "traditional"])
def test_serves_https_with_tls_cert_and_key(
    tmp_path: Path, backend: AppBackend, key_format: str
) -> None:
    cert, key = _self_signed(tmp_path)
    if key_format == "traditional":  # "BEGIN EC PRIVATE KEY", as openssl ecparam writes it
        loaded = serialization.load_pem_private_key(key.read_bytes(), password=None)
        key.write_bytes(
            loaded.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    server = LiveServer(
        data_dir=tmp_path / "data",
        env=backend.env(),
        scheme="https",
        args=["--tls-cert", str(cert), "--tls-key", str(key)],
    ).start()
    try:
        context = ssl.create_default_context(cafile=str(cert))
        response = httpx.get(f"{server.url}/v2/", verify=context)
        assert response.status_code == 200
        assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{server.port}/v2/", timeout=3)
    finally:
        server.stop()


def test_logs_one_line_per_request(tmp_path: Path, backend: AppBackend) -> None:
    server = LiveServer(data_dir=tmp_path / "data", env=backend.env()).start()
    try:
        for path in ("/v2/", "/v2/some/repo/tags/list", "/v2/_catalog"):
            httpx.get(f"{server.url}{path}")
    finally:
        server.stop()
    lines = server.log_path.read_text().splitlines()
    for path, status in (("/v2/some/repo/tags/list", 404), ("/v2/_catalog", 200)):
        matching = [line for line in lines if f'"GET {path} HTTP/1.1" {status}' in line]
        assert len(matching) == 1, lines[-20:]


def test_settings_precedence_flags_over_env_over_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "dockyard.toml"
    config.write_text(
        'port = 6001\nhost = "127.0.0.2"\n[registry]\ndelete_enabled = false\n'
        "[auth]\ntoken_ttl = 900\n"
    )
    monkeypatch.setenv("DOCKYARD_PORT", "6002")
    monkeypatch.setenv("DOCKYARD_AUTH__TOKEN_TTL", "600")
    settings = load_settings(config, port=6003)
    assert settings.port == 6003  # flag
    assert settings.auth.token_ttl == 600  # environment over file
    assert settings.host == "127.0.0.2"  # file over default
    assert settings.registry.delete_enabled is False


def test_bad_configuration_is_a_clean_error(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["serve", "--config", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    bad = tmp_path / "bad.toml"
    bad.write_text('port = "not a number"\n')
    invalid = runner.invoke(cli, ["serve", "--config", str(bad)])
    assert invalid.exit_code == 2
    assert "invalid configuration" in invalid.output
    assert "Traceback" not in invalid.output


def test_db_upgrade_creates_the_schema(
    tmp_path: Path, backends: Backends, request: pytest.FixtureRequest
) -> None:
    empty = backends.new(request.addfinalizer, migrated=False)
    url = empty.database_url or f"sqlite:///{tmp_path / 'd' / 'dockyard.db'}"
    if backends.postgres is not None:
        assert current_tables(url) == []  # a new, empty database
    result = CliRunner().invoke(
        cli, ["db", "upgrade", "--data-dir", str(tmp_path / "d")], env=empty.env()
    )
    assert result.exit_code == 0, result.output
    tables = current_tables(url)
    for table in ("repositories", "manifests", "tags", "blobs", "uploads", "users"):
        assert table in tables
