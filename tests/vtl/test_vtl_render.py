"""Pure rendering of the module's templates (no AWS): what API Gateway would send to SQS and answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import vtl
from tests.harness.strategies import bodies, header_values
from tests.harness.webhook_spec import (
    HEADER_VARIABLES,
    INTEGRATION_RESPONSES,
    SCHEME_HEADERS,
    TEMPLATES,
    decode_send_message,
    request_template,
    response_template,
)


def render_request(template: str, body: str, headers: dict[str, str], **context: object) -> str:
    ctx = vtl.make_context(**context)  # type: ignore[arg-type]
    return vtl.render(template, vtl.Input(body, headers), ctx)


def test_form_has_no_stray_characters() -> None:
    """Whitespace or raw non-ASCII in the output would corrupt the form: only encoded values appear."""
    form = render_request(
        request_template("github", **SCHEME_HEADERS["github"]), "a b\n", {"X-GitHub-Event": "push"}
    )
    assert re.fullmatch(r"[A-Za-z0-9.*_+%&=-]+", form), form
    assert form.startswith("Action=SendMessage&MessageBody=a+b%0A&MessageAttribute.1.Name=source&")


# Bodies the template queues as they are: not empty (never queued), and without U+FFFD (the
# mark of bytes that were not UTF-8, refused: see the "empty and undecodable" tests below).
queueable_bodies = bodies.filter(lambda b: b != "" and "\ufffd" not in b)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=queueable_bodies)
def test_any_body_survives_byte_exact(body: str) -> None:
    form = render_request(request_template("github"), body, {"Content-Type": "application/json"})
    message_body, _ = decode_send_message(form)
    assert message_body.encode("utf-8") == body.encode("utf-8")


def test_body_near_the_size_limit_survives() -> None:
    """1 MiB (SQS's maximum) minus a little, mostly multi-byte characters and form metacharacters."""
    unit = "é😀&+=%\r\n "
    body = unit * (1_048_000 // len(unit.encode()))
    form = render_request(request_template("stripe", **SCHEME_HEADERS["stripe"]), body, {})
    message_body, _ = decode_send_message(form)
    assert message_body == body
    assert 1_000_000 < len(body.encode()) <= 1_048_576


@settings(max_examples=200)
@given(
    scheme=st.sampled_from(sorted(SCHEME_HEADERS)),
    values=st.fixed_dictionaries({name: header_values for name in HEADER_VARIABLES}),
    content_type=st.sampled_from(["", "application/json", "application/json; charset=utf-8", "text/plain"]),
    lower_case_names=st.booleans(),
    source_ip=st.sampled_from(["203.0.113.7", "2001:db8::1"]),
)
def test_attributes_present_only_when_non_empty(
    scheme: str, values: dict[str, str], content_type: str, lower_case_names: bool, source_ip: str
) -> None:
    configured = SCHEME_HEADERS[scheme]
    headers = {}
    for variable, header in configured.items():
        headers[header.lower() if lower_case_names else header] = values[variable]
    # A header the scheme does not name never becomes an attribute, even when sent.
    headers["X-Unrelated-Signature"] = "sig"
    if content_type:
        headers["Content-Type"] = content_type
    # Query-string and path parameters named like the headers never count, set or not.
    shadows = {name: "forged" for name in [*configured.values(), "Content-Type"]}
    ctx = vtl.make_context(request_id="rid-1", request_time_epoch_ms=1_700_000_000_123, source_ip=source_ip)
    form = vtl.render(request_template("src", **configured), vtl.Input("{}", headers, shadows, shadows), ctx)
    _, attributes = decode_send_message(form)

    expected = [
        ("source", "src", "String"),
        ("request_id", "rid-1", "String"),
        ("received_at_ms", "1700000000123", "Number"),
        ("source_ip", source_ip, "String"),
    ]
    if content_type:
        expected.append(("content_type", content_type, "String"))
    for attribute, variable in [
        ("delivery_id", "delivery_id_header"),
        ("signature", "signature_header"),
        ("signature_timestamp", "timestamp_header"),
        ("event_type", "event_type_header"),
    ]:
        if variable in configured and values[variable] != "":
            expected.append((attribute, values[variable], "String"))
    assert attributes == expected  # decode_send_message also checks N = 1, 2, 3... in order
    assert len(attributes) <= 10
    assert all(value != "" for _, value, _ in attributes)


def test_all_nine_attributes_with_every_header_configured() -> None:
    names = {v: f"X-H-{i}" for i, v in enumerate(HEADER_VARIABLES)}
    headers = {h: f"value {h}" for h in names.values()} | {"Content-Type": "application/json"}
    _, attributes = decode_send_message(render_request(request_template("s", **names), "x", headers))
    assert [a[0] for a in attributes] == [
        "source",
        "request_id",
        "received_at_ms",
        "source_ip",
        "content_type",
        "delivery_id",
        "signature",
        "signature_timestamp",
        "event_type",
    ]


def test_header_values_are_data_not_template() -> None:
    """A header value that looks like VTL must reach SQS verbatim."""
    value = "$context.requestId #set($n = 5) ## $input.body"
    form = render_request(request_template("s", signature_header="Sig"), "b", {"sig": value})
    assert ("signature", value, "String") in decode_send_message(form)[1]


def test_input_params_searches_the_query_string_before_headers() -> None:
    """$input.params(x) looks in the path, then the query string, then the headers (AWS), which
    is why the request template never uses it: asserted here so the harness keeps AWS's order."""
    ctx = vtl.make_context()
    out = vtl.render("$input.params('X')", vtl.Input("", {"x": "header"}, {"X": "query"}), ctx)
    assert out == "query"
    out = vtl.render("$input.params('X')", vtl.Input("", {"x": "header"}, {}, {"X": "path"}), ctx)
    assert out == "path"


# --------------------------------------------------------------------------- empty and undecodable bodies


class LocalStackInput(vtl.Input):
    """LocalStack's reading of an empty payload: `$input.body` is {} but `$input.path('$')` is
    null (template_mapping.py, VelocityInput), and no Content-Length reaches the template
    (header_utils.py drops it at request parsing)."""

    def path(self, path: str = "$") -> object:
        return None if not self.raw_body else super().path(path)


def _message_body(inp: vtl.Input) -> str:
    form = vtl.render(request_template("github", **SCHEME_HEADERS["github"]), inp, vtl.make_context())
    return decode_send_message(form)[0]


@pytest.mark.parametrize(
    "inp",
    [
        vtl.Input("", {"Content-Length": "0"}),  # AWS's {} (LocalStack's recorded tests) + the header
        vtl.Input("", {"content-length": "0"}),  # any header case
        vtl.Input("", {}, empty_body=""),  # the other reading: $input.body is ""
        vtl.Input("", {"Content-Length": "0"}, empty_body=""),
        LocalStackInput("", {}),  # {} without Content-Length, $input.path('$') null
    ],
    ids=[
        "aws-reading",
        "header-case",
        "empty-string-reading",
        "empty-string-with-length",
        "localstack-reading",
    ],
)
def test_an_empty_body_is_never_queued(inp: vtl.Input) -> None:
    """MessageBody stays empty, so SQS answers MissingParameter and the sender 400 empty_body."""
    assert _message_body(inp) == ""


@pytest.mark.parametrize(
    "inp",
    [
        vtl.Input("{}", {"Content-Length": "2"}),
        vtl.Input("{}", {}),
        LocalStackInput("{}", {}),
        vtl.Input(" {}", {"Content-Length": "0"}),  # a wrong Content-Length never drops a body
        vtl.Input("a=b", {"Content-Length": "0"}),
    ],
    ids=["object-with-length", "object-without-length", "object-localstack", "spaced-object", "form"],
)
def test_a_real_body_is_queued_whatever_content_length_says(inp: vtl.Input) -> None:
    assert _message_body(inp) == inp.raw_body


@settings(max_examples=100)
@given(before=queueable_bodies | st.just(""), after=queueable_bodies | st.just(""))
def test_a_body_with_a_replacement_character_is_refused(before: str, after: str) -> None:
    """U+FFFD is what API Gateway's decoder makes of bytes that are not UTF-8: the body becomes
    U+0000, which SQS refuses (InvalidMessageContents -> 400 invalid_body). The attributes stay."""
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    form = vtl.render(
        request_template("github", **SCHEME_HEADERS["github"]),
        vtl.Input(before + "\ufffd" + after, headers),
        vtl.make_context(),
    )
    message_body, attributes = decode_send_message(form)
    assert message_body == "\x00"
    assert ("event_type", "push", "String") in attributes


GITHUB = SCHEME_HEADERS["github"]


def _github_attributes(
    headers: dict[str, str], query: dict[str, str] | None = None, path: dict[str, str] | None = None
) -> dict[str, str]:
    ctx = vtl.make_context(request_id="r")
    form = vtl.render(request_template("github", **GITHUB), vtl.Input("{}", headers, query, path), ctx)
    return {name: value for name, value, _ in decode_send_message(form)[1]}


def test_query_string_never_overrides_a_scheme_header() -> None:
    """`?X-GitHub-Delivery=forged` (and the same in the path) does not replace the header."""
    headers = {
        "X-GitHub-Delivery": "real",
        "X-Hub-Signature-256": "sha256=ab",
        "Content-Type": "application/json",
    }
    forged = {"X-GitHub-Delivery": "forged", "X-Hub-Signature-256": "forged", "Content-Type": "forged"}
    attributes = _github_attributes(headers, forged, forged)
    assert attributes["delivery_id"] == "real"
    assert attributes["signature"] == "sha256=ab"
    assert attributes["content_type"] == "application/json"


def test_a_header_absent_stays_absent_whatever_the_query_string_says() -> None:
    forged = {"X-GitHub-Delivery": "forged", "X-GitHub-Event": "forged", "Content-Type": "forged"}
    attributes = _github_attributes({"X-Hub-Signature-256": "sha256=ab"}, forged, {"X-GitHub-Event": "x"})
    assert "delivery_id" not in attributes
    assert "event_type" not in attributes
    assert "content_type" not in attributes


@pytest.mark.parametrize(
    "name", ["x-github-delivery", "X-GITHUB-DELIVERY", "X-GitHub-Delivery", "x-GitHub-delivery"]
)
def test_header_names_match_in_any_case(name: str) -> None:
    """HTTP/2 clients send header names lower-case; HTTP/1.1 ones in any case."""
    attributes = _github_attributes({name: "d-1", "content-TYPE": "application/json"})
    assert attributes["delivery_id"] == "d-1"
    assert attributes["content_type"] == "application/json"


def test_configured_header_names_match_in_any_case() -> None:
    """A source's own header name (hmac_sha256/none) is matched case-insensitively too."""
    template = request_template(
        "p", delivery_id_header="X-Partner-Delivery", event_type_header="x-partner-EVENT"
    )
    ctx = vtl.make_context(request_id="r")
    headers = {"x-partner-delivery": "d-9", "X-PARTNER-EVENT": "order.paid"}
    form = vtl.render(template, vtl.Input("{}", headers, {"X-Partner-Delivery": "forged"}), ctx)
    attributes = {name: value for name, value, _ in decode_send_message(form)[1]}
    assert (attributes["delivery_id"], attributes["event_type"]) == ("d-9", "order.paid")


def test_request_template_never_reads_input_params_by_name() -> None:
    """The code (not its comments) reads headers through the header map only."""
    code = "\n".join(
        line
        for line in (TEMPLATES / "sqs_send_message.vtl").read_text().splitlines()
        if not line.startswith("##")
    )
    assert "$input.params(" not in code.replace("$input.params().header", "")


# --------------------------------------------------------------------------- Terraform pass


def test_templatefile_variables(tmp_path: Path) -> None:
    path = tmp_path / "t.vtl"
    path.write_text("a=${a} b=${ b } lit=$${x} pct=%%{y} $input.body", encoding="utf-8")
    assert vtl.render_terraform_template(path, a="1", b="2") == "a=1 b=2 lit=${x} pct=%{y} $input.body"


@pytest.mark.parametrize("text", ["${a.b}", "${f(a)}", "%{ if a }x%{ endif }", "${missing}", '${"x"}'])
def test_templatefile_rejects_anything_but_plain_variables(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.vtl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        vtl.render_terraform_template(path, a="1")


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.vtl")))
def test_module_templates_use_only_the_contract_variables(name: str) -> None:
    variables = dict.fromkeys(HEADER_VARIABLES, "") | {"source": "s"}
    vtl.render_terraform_template(TEMPLATES / name, **variables)  # raises on anything else
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    assert "%{" not in text
    used = set(re.findall(r"(?<!\$)\$\{\s*([A-Za-z_]\w*)\s*\}", text))
    assert used <= {"source", *HEADER_VARIABLES}


# --------------------------------------------------------------------------- $util / $input


def test_util_functions() -> None:
    util = vtl.Util()
    assert util.urlEncode("a b~*") == "a+b%7E*"
    assert util.urlDecode("a+b%7E") == "a b~"
    assert util.base64Decode(util.base64Encode("é😀")) == "é😀"
    assert util.escapeJavaScript("'\"\\/\né😀") == "\\'\\\"\\\\\\/\\n\\u00E9\\uD83D\\uDE00"
    assert util.parseJson('{"a": [1]}') == {"a": [1]}


def test_input_json_and_path() -> None:
    inp = vtl.Input('{"a": {"b": [1, {"c": "x"}]}, "k": "v"}')
    assert inp.path("$.a.b[1].c") == "x"
    assert inp.path("$['k']") == "v"
    assert inp.json("$.a") == '{"b":[1,{"c":"x"}]}'
    assert inp.path("$.missing") is None


def test_context_is_writable_and_rendered() -> None:
    ctx = vtl.make_context(request_id="r", request_time_epoch_ms=0, stage="prod")
    out = vtl.render(
        "#set($context.responseOverride.status = 418)$context.requestTime|$context.stage", vtl.Input(""), ctx
    )
    assert out == "01/Jan/1970:00:00:00 +0000|prod"
    assert ctx["responseOverride"]["status"] == 418


# --------------------------------------------------------------------------- response templates

XML_TOO_LONG = (
    "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>One or more"
    " parameters are invalid. Reason: Message must be shorter than 1048576 bytes.</Message></Error>"
    "</ErrorResponse>"
)
JSON_TOO_LONG = (
    '{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"One or more parameters are invalid. '
    'Reason: Message must be shorter than 262144 bytes."}'
)
JSON_INVALID = (
    '{"Error":{"Code":"InvalidMessageContents","Message":"Invalid binary character \'#x1\' was found in the '
    "message body, the set of allowed characters is #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | "
    '#x10000-#x10FFFF","Type":"Sender"},"RequestId":"r"}'
)
XML_EMPTY = (
    "<Error><Code>MissingParameter</Code>"
    "<Message>The request must contain the parameter MessageBody.</Message></Error>"
)


@pytest.mark.parametrize(
    ("sqs_body", "status", "error"),
    [
        (XML_TOO_LONG, 413, "payload_too_large"),
        (JSON_TOO_LONG, 413, "payload_too_large"),
        (JSON_INVALID, 400, "invalid_body"),
        ("<Code>InvalidMessageContents</Code>", 400, "invalid_body"),
        (XML_EMPTY, 400, "empty_body"),
        ("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>", 503, "service_unavailable"),
        ('{"__type":"com.amazonaws.sqs#RequestThrottled"}', 503, "service_unavailable"),
        ("<Code>KMS.ThrottlingException</Code>", 503, "service_unavailable"),
        ("<Code>AccessDenied</Code>", 503, "service_unavailable"),
        ("", 503, "service_unavailable"),
    ],
)
def test_client_error_template(sqs_body: str, status: int, error: str) -> None:
    """The 4xx response is declared 503; the template only lowers it, on a recognised sender fault."""
    import json

    declared = next(int(s) for s, _, file in INTEGRATION_RESPONSES if file == "response_client_error.vtl")
    assert declared == 503
    ctx = vtl.make_context(request_id="req-9")
    out = vtl.render(response_template("response_client_error.vtl"), vtl.Input(sqs_body), ctx)
    override = ctx["responseOverride"]["status"]
    assert override in (None, 400, 413)  # never raised, never a 2xx: lowered or left alone
    assert (override or declared) == status
    assert json.loads(out) == {"error": error, "message": json.loads(out)["message"], "request_id": "req-9"}


def test_every_error_response_is_declared_retryable() -> None:
    """Fail safe: whatever a template does not override, only SQS's 2xx answers below 500."""
    for status, pattern, _ in INTEGRATION_RESPONSES:
        if pattern == r"2\d{2}":
            assert status == "200"
        else:
            assert int(status) >= 500, (status, pattern)


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("response_success.vtl", None, {"status": "accepted", "request_id": "req-9"}),
        ("response_server_error.vtl", 503, {"error": "service_unavailable"}),
        ("response_unmapped.vtl", 502, {"error": "bad_gateway"}),
    ],
)
def test_other_response_templates(name: str, status: int | None, expected: dict[str, str]) -> None:
    import json

    ctx = vtl.make_context(request_id="req-9")
    body = json.loads(vtl.render(response_template(name), vtl.Input("<xml/>"), ctx))
    assert ctx["responseOverride"]["status"] == status
    assert body.items() >= expected.items()
    assert body["request_id"] == "req-9"
