"""Secrets Manager access: value formats, the TTL cache, failures are transient."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from webhook_processor.errors import TransientError
from webhook_processor.secret_store import SecretStore, parse_secret_string

from .support import mocked_aws


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("s3cret", ("s3cret",)),
        (" padded \n", ("padded",)),  # surrounding whitespace and newlines are stripped
        ("whsec_x\n", ("whsec_x",)),  # `echo whsec_x > file; --secret-string file://file`
        (json.dumps(["new", "old"]), ("new", "old")),
        (json.dumps([" new\n", "old"]), ("new", "old")),
        # The README's rotation step: --secret-string '"whsec_new"' (a JSON string literal).
        ('"whsec_new"', ("whsec_new",)),
        (' "whsec_new"\n', ("whsec_new",)),
        # The Secrets Manager console's key/value editor.
        ('{"secret": "whsec_kv"}', ("whsec_kv",)),
        (json.dumps({"secret": ["new", "old"]}), ("new", "old")),
        ("not [json", ("not [json",)),
        ("pass word", ("pass word",)),
    ],
)
def test_parse_secret_string(value: str, expected: tuple[str, ...]) -> None:
    assert parse_secret_string(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        " \n ",
        "[]",
        '[""]',
        '["only", ""]',
        "[1, 2]",
        '["a", null]',
        '""',
        '"  "',
        "[not json",  # starts like JSON, does not parse: never a key with a bracket in it
        '"whsec_unterminated',
        '{"a": "b"}',  # an object with another key
        '{"secret": "x", "other": "y"}',
        '{"secret": 7}',
        '{"secret": []}',
        "{}",
        "12345",
        "true",
        "null",
    ],
)
def test_unusable_secret_values(value: str) -> None:
    with pytest.raises(ValueError):
        parse_secret_string(value)


def test_unusable_secret_messages_never_hold_the_value() -> None:
    for value in ('{"secret": 7, "x": "hunter2"}', '"hunter2', '["hunter2", 5]'):
        with pytest.raises(ValueError) as caught:
            parse_secret_string(value)
        assert "hunter2" not in str(caught.value)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secretsmanager() -> Any:
    with mocked_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.calls = 0  # type: ignore[attr-defined]

        def count(**_: Any) -> None:
            client.calls += 1  # type: ignore[attr-defined]

        client.meta.events.register("before-call.secrets-manager.GetSecretValue", count)
        yield client


def test_cache_hit_within_ttl_and_refresh_after(secretsmanager: Any) -> None:
    arn = secretsmanager.create_secret(Name="a", SecretString=json.dumps(["k1", "k2"]))["ARN"]
    clock = FakeClock()
    store = SecretStore(lambda: secretsmanager, ttl_seconds=300, clock=clock)
    assert store.get(arn) == ("k1", "k2")
    clock.now += 299
    assert store.get(arn) == ("k1", "k2")
    assert secretsmanager.calls == 1
    secretsmanager.put_secret_value(SecretId=arn, SecretString="k3")
    clock.now += 2
    assert store.get(arn) == ("k3",)
    assert secretsmanager.calls == 2


def test_ttl_zero_disables_the_cache(secretsmanager: Any) -> None:
    arn = secretsmanager.create_secret(Name="a", SecretString="k")["ARN"]
    store = SecretStore(lambda: secretsmanager, ttl_seconds=0)
    store.get(arn)
    store.get(arn)
    assert secretsmanager.calls == 2


def test_fetch_failure_is_transient_and_not_cached(secretsmanager: Any) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:later-AbCdEf"
    store = SecretStore(lambda: secretsmanager, ttl_seconds=300)
    with pytest.raises(TransientError) as caught:
        store.get(arn)
    assert caught.value.code == "secret_unavailable"
    assert "ResourceNotFoundException" in str(caught.value)
    created = secretsmanager.create_secret(Name="later", SecretString="k")["ARN"]
    assert store.get(created) == ("k",)


def test_binary_or_malformed_secret_is_transient(secretsmanager: Any) -> None:
    binary = secretsmanager.create_secret(Name="bin", SecretBinary=b"\x00\x01")["ARN"]
    empty_list = secretsmanager.create_secret(Name="empty", SecretString="[]")["ARN"]
    other_key = secretsmanager.create_secret(Name="kv", SecretString='{"key": "v"}')["ARN"]
    store = SecretStore(lambda: secretsmanager, ttl_seconds=300)
    for arn in (binary, empty_list, other_key):
        with pytest.raises(TransientError) as caught:
            store.get(arn)
        assert caught.value.code == "secret_unusable"
        assert "[]" not in str(caught.value)


def test_any_client_exception_is_transient() -> None:
    class Exploding:
        def get_secret_value(self, **_: Any) -> Any:
            raise ConnectionResetError("peer reset")

    with pytest.raises(TransientError):
        SecretStore(lambda: Exploding(), ttl_seconds=300).get("arn")
