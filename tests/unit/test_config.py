"""Storage settings: the S3 driver's options, their checks, and how the app builds the driver."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dockyard.app import blob_redirect_seconds, build_storage
from dockyard.config import Settings
from dockyard.storage.s3 import S3Driver

S3 = {"bucket": "registry", "endpoint_url": "http://127.0.0.1:9", "region": "eu-west-1"}


def s3_settings(**values: object) -> Settings:
    return Settings(storage={"driver": "s3", "s3": {**S3, **values}})


def test_defaults() -> None:
    s3 = s3_settings().storage.s3
    assert s3.addressing_style == "auto"
    assert s3.redirect is False
    assert s3.presign_expiry == 1200
    assert s3.part_size == 8 * 1024 * 1024
    assert s3.access_key_id is None
    assert Settings().storage.driver == "filesystem"


def test_empty_strings_mean_unset() -> None:
    s3 = s3_settings(region="", access_key_id="", secret_access_key="").storage.s3
    assert s3.region is None
    assert s3.access_key_id is None
    assert s3.secret_access_key is None


@pytest.mark.parametrize(
    "values",
    [
        {"access_key_id": "AKIA"},
        {"secret_access_key": "only-the-secret"},
        {"prefix": "no-slash"},
        {"prefix": "/absolute/"},
        {"bucket": ""},
        {"part_size": 1024},
        {"presign_expiry": 10},
        {"addressing_style": "sideways"},
    ],
)
def test_invalid_values_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        s3_settings(**values)


def test_the_secret_is_hidden_but_reaches_worker_processes() -> None:
    settings = s3_settings(access_key_id="AKIA", secret_access_key="TOPSECRET")
    assert "TOPSECRET" not in repr(settings)
    # `dockyard serve` hands settings to its workers as JSON.
    copy = Settings.model_validate_json(settings.model_dump_json())
    secret = copy.storage.s3.secret_access_key
    assert secret is not None
    assert secret.get_secret_value() == "TOPSECRET"


def test_validation_errors_do_not_echo_the_secret() -> None:
    with pytest.raises(ValidationError) as caught:
        s3_settings(access_key_id="AKIA", secret_access_key="TOPSECRET", prefix="bad")
    assert "TOPSECRET" not in str(caught.value)


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_STORAGE__DRIVER", "s3")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__BUCKET", "from-env")
    monkeypatch.setenv("DOCKYARD_STORAGE__S3__REDIRECT", "true")
    settings = Settings()
    assert settings.storage.s3.bucket == "from-env"
    assert blob_redirect_seconds(settings) == 1200


async def test_the_app_builds_the_s3_driver() -> None:
    settings = s3_settings(prefix="dockyard/", access_key_id="AKIA", secret_access_key="x")
    driver = build_storage(settings)
    assert isinstance(driver, S3Driver)
    assert driver.bucket == "registry"
    assert driver.prefix == "dockyard/"
    assert driver.config.secret_access_key == "x"
    assert blob_redirect_seconds(settings) is None
    await driver.close()
