"""Bodies must be valid for their content type."""

from __future__ import annotations

import pytest
from webhook_processor.validation import media_type, validate_body


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json; charset=utf-8", "application/json"),
        (" Application/JSON ", "application/json"),
        (None, ""),
        ("", ""),
    ],
)
def test_media_type(content_type: str | None, expected: str) -> None:
    assert media_type(content_type) == expected


# The spellings the module keys its request templates by (main.tf, charset_suffixes): the
# content_type attribute carries whichever one the sender wrote.
CHARSET_SUFFIXES = ("", "; charset=utf-8", ";charset=utf-8", "; charset=UTF-8", ";charset=UTF-8")


@pytest.mark.parametrize("suffix", CHARSET_SUFFIXES)
@pytest.mark.parametrize(
    ("base", "body", "kind"),
    [
        ("application/json", '{"a": 1}', "json"),
        ("Application/JSON", '{"a": 1}', "json"),
        ("application/x-www-form-urlencoded", "payload=%7B%7D", "form"),
        ("text/plain", "hello", "text"),
    ],
)
def test_every_accepted_spelling_parses_as_its_media_type(
    base: str, body: str, kind: str, suffix: str
) -> None:
    validation = validate_body(body, base + suffix)
    assert validation.valid and validation.parsed is not None
    assert validation.parsed.kind == kind
    assert media_type(base + suffix) == base.lower()


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ('{"a":1}', "application/json", None),
        ("[1, 2]", "application/vnd.api+json", None),
        ("42", "text/json", None),
        ('{"a":1', "application/json", "invalid_json"),
        ("", "application/json", "invalid_json"),
        ('{"a": NaN}', "application/json", "invalid_json"),
        ("[" * 100_000, "application/json", "invalid_json"),
        ("a=1&b=2", "application/x-www-form-urlencoded", None),
        ("", "application/x-www-form-urlencoded", None),
        # Form bodies that strict parsing refuses are kept (with a warning): see below.
        ("a=1&&b=2", "application/x-www-form-urlencoded", None),
        ("justaword", "application/x-www-form-urlencoded", None),
        ("a=%ff", "application/x-www-form-urlencoded", None),
        ("not json {", "text/plain", None),
        ("\x00\x01 binary-ish", "application/octet-stream", None),
        ("anything", None, None),
    ],
)
def test_validate_body(body: str, content_type: str | None, reason: str | None) -> None:
    result = validate_body(body, content_type)
    assert result.reason == reason
    assert result.valid is (reason is None)


def test_parsed_forms() -> None:
    form = validate_body("command=%2Fdeploy&text=a+b&text=c", "application/x-www-form-urlencoded").parsed
    assert form is not None and form.kind == "form"
    assert form.form == {"command": "/deploy", "text": "a b"}
    text = validate_body('{"type":"x"}', None).parsed
    assert text is not None and text.kind == "text" and text.document == {"type": "x"}
    assert validate_body("plain", "text/plain").parsed.document is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "form"),
    [
        ("a=1&&b=2", {"a": "1", "b": "2"}),
        ("justaword", {"justaword": ""}),
        ("a=%ff&command=%2Fdeploy", {"a": "\ufffd", "command": "/deploy"}),
        ("payload=%7B%22type%22%3A%22x%22%7D&&", {"payload": '{"type":"x"}'}),
    ],
)
def test_form_body_strict_parsing_refuses_is_kept_with_a_warning(body: str, form: dict[str, str]) -> None:
    result = validate_body(body, "application/x-www-form-urlencoded")
    assert result.valid and result.reason is None
    assert result.warning == "invalid_form_body"
    assert result.parsed is not None and result.parsed.kind == "form" and result.parsed.form == form


def test_strict_form_and_other_bodies_have_no_warning() -> None:
    assert validate_body("a=1&b=2", "application/x-www-form-urlencoded").warning is None
    assert validate_body('{"a":1', "application/json").warning is None
    assert validate_body("x", "text/plain").warning is None
