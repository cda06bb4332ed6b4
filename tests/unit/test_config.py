"""Environment parsing."""

from __future__ import annotations

import json

import pytest
from webhook_processor.config import ConfigError, get_config, load_config


def _env(**overrides: str) -> dict[str, str]:
    env = {
        "TABLE_NAME": "history",
        "WEBHOOK_SOURCES": json.dumps({"gh": {"scheme": "github", "secret_arn": "arn:x"}}),
    }
    env.update(overrides)
    return env


def test_defaults() -> None:
    config = load_config(_env())
    assert config.table_name == "history"
    assert config.history_retention_days == 0
    assert config.max_stored_body_bytes == 350_000
    assert config.secret_cache_ttl_seconds == 300
    assert config.log_level == "INFO"
    source = config.sources["gh"]
    assert (source.scheme, source.secret_arn, source.tolerance_seconds) == ("github", "arn:x", 300)
    assert (source.hmac_encoding, source.hmac_prefix) == ("hex", "")


def test_terraform_nulls_mean_defaults() -> None:
    sources = {
        "h": {
            "scheme": "hmac_sha256",
            "secret_arn": "arn:y",
            "tolerance_seconds": None,
            "hmac_encoding": None,
            "hmac_prefix": None,
            "signature_header": "X-Sig",  # Terraform-side settings are ignored here
        },
        "o": {"scheme": "none", "secret_arn": None},
    }
    config = load_config(
        _env(
            WEBHOOK_SOURCES=json.dumps(sources),
            HISTORY_RETENTION_DAYS="7",
            MAX_STORED_BODY_BYTES="1000",
            SECRET_CACHE_TTL_SECONDS="0",
            LOG_LEVEL="debug",
        )
    )
    assert config.sources["h"].tolerance_seconds == 300
    assert config.sources["h"].hmac_encoding == "hex"
    assert config.sources["o"].secret_arn is None and not config.sources["o"].signed
    assert (config.history_retention_days, config.max_stored_body_bytes) == (7, 1000)
    assert (config.secret_cache_ttl_seconds, config.log_level) == (0, "DEBUG")


def test_stored_body_limit_is_capped_below_the_item_limit() -> None:
    assert load_config(_env(MAX_STORED_BODY_BYTES="1000000")).max_stored_body_bytes == 380_000


@pytest.mark.parametrize(
    "env",
    [
        {"TABLE_NAME": ""},
        {"WEBHOOK_SOURCES": "{not json"},
        {"WEBHOOK_SOURCES": "[]"},
        {"WEBHOOK_SOURCES": json.dumps({"x": {"scheme": "md5"}})},
        {"WEBHOOK_SOURCES": json.dumps({"x": "github"})},
        {"WEBHOOK_SOURCES": json.dumps({"x": {"scheme": "github", "tolerance_seconds": -1}})},
        {"WEBHOOK_SOURCES": json.dumps({"x": {"scheme": "github", "tolerance_seconds": True}})},
        {"WEBHOOK_SOURCES": json.dumps({"x": {"scheme": "hmac_sha256", "hmac_encoding": "b32"}})},
        {"WEBHOOK_SOURCES": json.dumps({"x": {"scheme": "github", "secret_arn": 7}})},
        {"HISTORY_RETENTION_DAYS": "soon"},
        {"HISTORY_RETENTION_DAYS": "-1"},
    ],
)
def test_invalid_environment(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_config(_env(**env))


def test_get_config_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _env().items():
        monkeypatch.setenv(name, value)
    get_config.cache_clear()
    first = get_config()
    monkeypatch.setenv("TABLE_NAME", "other")
    assert get_config() is first
    get_config.cache_clear()
    assert get_config().table_name == "other"
    get_config.cache_clear()
