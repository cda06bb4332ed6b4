"""Is a body valid for its declared content type? Parses it once for the field extractors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

BodyKind = Literal["json", "form", "text"]

_FORM_TYPE = "application/x-www-form-urlencoded"
INVALID_FORM_BODY = "invalid_form_body"


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json`` ("" when absent)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_json_type(media: str) -> bool:
    return media in ("application/json", "text/json") or media.endswith("+json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(text: str) -> Any:
    """json.loads that also refuses NaN / Infinity, which RFC 8259 does not allow."""
    return json.loads(text, parse_constant=_reject_constant)


@dataclass(frozen=True)
class ParsedBody:
    kind: BodyKind
    # JSON document: parsed for JSON types; for text, a best-effort parse (None if not JSON).
    document: Any = None
    # Form fields (first value of each name) for form-urlencoded bodies.
    form: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Validation:
    parsed: ParsedBody | None
    reason: str | None = None  # set when the body is invalid for its content type
    # Set when the body was parsed leniently: kept (processed when verified), with this warning.
    warning: str | None = None

    @property
    def valid(self) -> bool:
        return self.reason is None


def _maybe_json(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return loads_strict(text)
    except (ValueError, RecursionError):
        return None


def validate_body(text: str, content_type: str | None) -> Validation:
    """JSON types must parse as JSON; form-urlencoded that does not parse strictly gets a
    warning (never invalid); anything else is text."""
    media = media_type(content_type)
    if is_json_type(media):
        try:
            return Validation(ParsedBody("json", document=loads_strict(text)))
        except (ValueError, RecursionError):
            return Validation(None, "invalid_json")
    if media == _FORM_TYPE:
        # A form body that strict parsing refuses is still the sender's signed event: keep it
        # (parsed leniently for the event type) with a warning, never drop it as invalid.
        warning = None
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
        except (ValueError, UnicodeDecodeError):
            pairs = parse_qsl(text, keep_blank_values=True, errors="replace")
            warning = INVALID_FORM_BODY
        form: dict[str, str] = {}
        for name, value in pairs:
            form.setdefault(name, value)
        return Validation(ParsedBody("form", form=form), warning=warning)
    return Validation(ParsedBody("text", document=_maybe_json(text)))


def validate_text_or_bytes(text: str | None, raw: bytes, content_type: str | None) -> Validation:
    """``validate_body`` of a body that may not be UTF-8 (an S3 source's object: ``text`` is
    None then). Such bytes are no JSON (RFC 8259 is UTF-8), so a JSON type is invalid; any
    other type is text with no document (event type and delivery id come from the headers),
    a form read leniently with the usual warning."""
    if text is not None:
        return validate_body(text, content_type)
    media = media_type(content_type)
    if is_json_type(media):
        return Validation(None, "invalid_json")
    if media == _FORM_TYPE:
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True, errors="replace")
        form: dict[str, str] = {}
        for name, value in pairs:
            form.setdefault(name, value)
        return Validation(ParsedBody("form", form=form), warning=INVALID_FORM_BODY)
    return Validation(ParsedBody("text"))
