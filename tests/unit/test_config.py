"""Environment parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from webhook_processor import config as config_module
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
    assert config.processor_timeout_seconds is None
    assert (config.invalid_body_bytes, config.rejected_retention_days) == (4096, 14)
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
        {"HISTORY_RETENTION_DAYS": "1.5"},
        {"PROCESSOR_TIMEOUT_SECONDS": "0"},
        {"PROCESSOR_TIMEOUT_SECONDS": "2.5"},
        {"INVALID_BODY_BYTES": "-1"},
        {"REJECTED_RETENTION_DAYS": "x"},
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


def test_new_settings() -> None:
    config = load_config(
        _env(
            PROCESSOR_TIMEOUT_SECONDS="5",
            INVALID_BODY_BYTES="100",
            REJECTED_RETENTION_DAYS="3",
            HISTORY_RETENTION_DAYS="30",
        )
    )
    assert (config.processor_timeout_seconds, config.invalid_body_bytes) == (5, 100)
    assert config.stored_body_bytes("invalid") == 100
    assert config.stored_body_bytes("rejected") == config.stored_body_bytes("processed") == 350_000
    assert (config.retention_days("rejected"), config.retention_days("processed")) == (3, 30)
    assert (config.retention_days("invalid"), config.retention_days("conflict")) == (30, 30)


@pytest.mark.parametrize(
    ("history", "rejected", "expected"),
    [("30", "14", 14), ("7", "14", 7), ("0", "14", 14), ("30", "0", 30), ("0", "0", 0)],
)
def test_rejected_retention(history: str, rejected: str, expected: int) -> None:
    config = load_config(_env(HISTORY_RETENTION_DAYS=history, REJECTED_RETENTION_DAYS=rejected))
    assert config.retention_days("rejected") == expected


def test_whole_number_message() -> None:
    with pytest.raises(ConfigError, match="HISTORY_RETENTION_DAYS must be a whole number"):
        load_config(_env(HISTORY_RETENTION_DAYS="1.5"))


# --- WEBHOOK_SOURCES_FILE (the source map shipped in the zip: the env has a 4 KB limit) -------


def _many_sources(count: int) -> dict[str, dict[str, object]]:
    schemes = sorted(config_module.SCHEMES)
    return {
        f"source-{index:03d}": {
            "scheme": schemes[index % len(schemes)],
            "secret_arn": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:webhooks/source-{index:03d}-AbCdEf",
            "tolerance_seconds": None,
            "hmac_encoding": None,
            "hmac_prefix": None,
        }
        for index in range(count)
    }


def test_one_hundred_sources_from_the_file_relative_to_the_package_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _many_sources(100)
    assert len(json.dumps(sources)) > 4096  # would not fit the Lambda environment
    (tmp_path / "webhook_config").mkdir()
    (tmp_path / "webhook_config" / "sources.json").write_text(json.dumps(sources))
    monkeypatch.setattr(config_module, "PACKAGE_ROOT", tmp_path)
    env = {"TABLE_NAME": "history", "WEBHOOK_SOURCES_FILE": "webhook_config/sources.json"}
    config = load_config(env)
    assert len(config.sources) == 100
    assert (
        config.sources["source-042"].scheme == sorted(config_module.SCHEMES)[42 % len(config_module.SCHEMES)]
    )
    assert config.sources["source-099"].secret_arn.endswith("source-099-AbCdEf")  # type: ignore[union-attr]


def test_the_package_root_is_the_directory_holding_the_package() -> None:
    assert (config_module.PACKAGE_ROOT / "webhook_processor" / "config.py").is_file()
    assert config_module.sources_file_path("webhook_config/sources.json") == (
        config_module.PACKAGE_ROOT / "webhook_config" / "sources.json"
    )
    assert config_module.sources_file_path("/abs/sources.json") == Path("/abs/sources.json")


def test_inline_sources_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps({"from_file": {"scheme": "none"}}))
    config = load_config(_env(WEBHOOK_SOURCES_FILE=str(path)))
    assert set(config.sources) == {"gh"}
    config = load_config(_env(WEBHOOK_SOURCES="", WEBHOOK_SOURCES_FILE=str(path)))
    assert set(config.sources) == {"from_file"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot be read"),
        ("{broken", "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        ("[]", "must hold a JSON object"),
    ],
    ids=["missing", "bad-json", "not-utf8", "not-an-object"],
)
def test_a_missing_or_bad_sources_file_names_the_path(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "sources.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config({"TABLE_NAME": "history", "WEBHOOK_SOURCES_FILE": str(path)})
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert "WEBHOOK_SOURCES_FILE" in str(caught.value)


def test_a_bad_source_in_the_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps({"x": {"scheme": "md5"}}))
    with pytest.raises(ConfigError):
        load_config({"TABLE_NAME": "history", "WEBHOOK_SOURCES_FILE": str(path)})
