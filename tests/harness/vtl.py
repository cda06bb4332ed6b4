"""API Gateway (REST) mapping-template rendering, for the local gateway and the VTL tests.

API Gateway runs mapping templates with Apache Velocity plus three objects,
`$input`, `$util` and `$context` (AWS: "API Gateway mapping template and access
logging variable reference"). airspeed-ext is the Python Velocity engine
LocalStack uses for the same job; it renders a null reference as "" for AWS
parity. This module supplies the three objects with the documented semantics.

`render_terraform_template` is the first pass the module's templates go through:
Terraform's `templatefile()` with plain `${name}` interpolation only.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed
import airspeed.operators

# Java String methods API Gateway's Velocity (Java) has and airspeed-ext 0.6.9 does not:
# airspeed looks up a Python object's missing methods in this per-type table.
# toLowerCase(): java.lang.String.toLowerCase(); header names are ASCII tokens
# (RFC 9110), for which Python's str.lower() gives the same result.
airspeed.operators.__additional_methods__[str].setdefault("toLowerCase", lambda self: self.lower())
airspeed.operators.__additional_methods__[str].setdefault("toUpperCase", lambda self: self.upper())

# --------------------------------------------------------------------------- Terraform pass

_TF_TOKEN = re.compile(r"\$\$\{|%%\{|\$\{([^}]*)\}|%\{")
_TF_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*)\s*")


def render_terraform_template(path: str | Path, **variables: str) -> str:
    """Render `path` the way Terraform's templatefile(path, variables) would, for this module's use.

    Supported: `${name}` (optionally `${ name }`) for a variable that was passed,
    and the escapes `$${` -> `${`, `%%{` -> `%{`. Anything else Terraform would
    treat as an expression or a directive (`${a.b}`, `${f(x)}`, `%{if}`...) raises
    ValueError, as does a variable that was not passed (Terraform fails too).
    """
    text = Path(path).read_text(encoding="utf-8")

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        if token == "%%{":
            return "%{"
        if token == "%{":
            raise ValueError(f"{path}: template directive '%{{' is not allowed (write '%%{{')")
        name = _TF_NAME.fullmatch(match.group(1) or "")
        if name is None:
            raise ValueError(f"{path}: only plain ${{name}} interpolation is allowed, found {token!r}")
        if name.group(1) not in variables:
            raise ValueError(f"{path}: variable {name.group(1)!r} is not defined ({token!r})")
        value = variables[name.group(1)]
        if not isinstance(value, str):
            raise TypeError(f"{path}: variable {name.group(1)!r} must be a string")
        return value

    return _TF_TOKEN.sub(replace, text)


# --------------------------------------------------------------------------- $util


def url_encode(value: str) -> str:
    """java.net.URLEncoder.encode(s, "UTF-8"), which $util.urlEncode uses: `a-zA-Z0-9.-*_`
    stay, space becomes '+', everything else is %XX (upper case) of its UTF-8 bytes."""
    # quote_plus also keeps '~', which Java encodes.
    return quote_plus(str(value), safe="*", encoding="utf-8", errors="surrogatepass").replace("~", "%7E")


def escape_javascript(value: str) -> str:
    """Commons Lang StringEscapeUtils.escapeJavaScript, which $util.escapeJavaScript uses.

    Note `'` becomes `\\'`, which is not valid JSON (AWS documents this).
    """
    simple = {'"': '\\"', "'": "\\'", "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
    simple |= {"\r": "\\r", "\t": "\\t"}
    out = []
    for ch in str(value):
        if ch in simple:
            out.append(simple[ch])
        elif ord(ch) < 0x20 or ord(ch) > 0x7F:
            # Java strings are UTF-16: astral characters become two \\uXXXX escapes.
            for unit in _utf16_units(ch):
                out.append(f"\\u{unit:04X}")
        else:
            out.append(ch)
    return "".join(out)


def _utf16_units(ch: str) -> list[int]:
    data = ch.encode("utf-16-be", errors="surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


class Util:
    """`$util`."""

    def urlEncode(self, value: Any) -> str:
        return url_encode(_to_str(value))

    def urlDecode(self, value: Any) -> str:
        return unquote_plus(_to_str(value))

    def base64Encode(self, value: Any) -> str:
        return base64.b64encode(_to_str(value).encode("utf-8")).decode("ascii")

    def base64Decode(self, value: Any) -> str:
        return base64.b64decode(_to_str(value)).decode("utf-8", errors="replace")

    def escapeJavaScript(self, value: Any) -> str:
        return escape_javascript(_to_str(value))

    def parseJson(self, value: Any) -> Any:
        return json.loads(_to_str(value))


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- $input


# What `$input.body` renders for an empty payload. LocalStack's tests recorded against AWS
# (test_apigateway_common.py::test_input_body_formatting, its PR #12413; and the request
# validator's, PR #7916) show `{}`, not "": AWS documents neither.
EMPTY_BODY = "{}"


class Input:
    """`$input` for one request.

    body: the raw payload as a string. API Gateway decodes a non-binary payload
    as UTF-8; bytes that are not valid UTF-8 become U+FFFD (they cannot survive
    a text template, whatever the template does). An empty payload reads as
    `empty_body` (default `{}`, the AWS reading above; pass "" for the other
    reading), also for `$input.path` and `$input.json`.
    """

    def __init__(
        self,
        body: str,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        path_params: Mapping[str, str] | None = None,
        *,
        empty_body: str = EMPTY_BODY,
    ) -> None:
        self.raw_body = body
        self.body = body if body else empty_body
        self._headers = dict(headers or {})
        self._query = dict(query or {})
        self._path = dict(path_params or {})

    def params(self, name: str | None = None) -> Any:
        """AWS, "Variables for data transformations for API Gateway":

        `$input.params()` "returns a map of all the request parameters of your API call":
        {path, querystring, header}, each a map of name -> value. Header keys are the
        names as the client sent them, so `.header.get(x)` is case-sensitive and a
        template that wants case-insensitive names iterates `.header.keySet()`.

        `$input.params(x)` "returns the value of a method request parameter from the
        path, query string, or header value (searched in that order)": a query
        parameter shadows a header of the same name. The header step matches
        case-insensitively; "" when absent."""
        if name is None:
            return {"path": dict(self._path), "querystring": dict(self._query), "header": dict(self._headers)}
        name = str(name)
        if name in self._path:
            return self._path[name]
        if name in self._query:
            return self._query[name]
        return header_lookup(self._headers, name) or ""

    def json(self, path: str = "$") -> str:
        """`$input.json(x)`: the JSONPath result re-serialised as JSON (this is what breaks signatures)."""
        return json.dumps(self.path(path), separators=(",", ":"), ensure_ascii=False)

    def path(self, path: str = "$") -> Any:
        """`$input.path(x)`: the JSONPath result as an object (simple `$.a.b[0]['c']` paths)."""
        try:
            value: Any = json.loads(self.body) if self.body else {}
        except ValueError:
            return None
        for key in _jsonpath_keys(path):
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return None
        return value


_JSONPATH_STEP = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def _jsonpath_keys(path: str) -> list[str | int]:
    path = path.strip()
    if not path.startswith("$"):
        raise ValueError(f"JSONPath must start with '$': {path!r}")
    keys: list[str | int] = []
    pos = 1
    while pos < len(path):
        step = _JSONPATH_STEP.match(path, pos)
        if step is None:
            raise ValueError(f"unsupported JSONPath {path!r}")
        name, index, quoted, dquoted = step.groups()
        keys.append(int(index) if index is not None else (name or quoted or dquoted or ""))
        pos = step.end()
    return keys


def header_lookup(headers: Mapping[str, str], name: str) -> str | None:
    """HTTP header names are case-insensitive (RFC 9110)."""
    wanted = name.lower()
    found = None
    for key, value in headers.items():
        if key.lower() == wanted:
            found = value
    return found


# --------------------------------------------------------------------------- $context


def make_context(
    *,
    request_id: str | None = None,
    request_time_epoch_ms: int | None = None,
    source_ip: str = "127.0.0.1",
    user_agent: str = "",
    stage: str = "test",
    resource_path: str = "/",
    path: str = "/",
    http_method: str = "POST",
    api_id: str = "local",
    resource_id: str = "local",
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """`$context`. `responseOverride.status` / `.header` are written by response templates."""
    epoch_ms = int(time.time() * 1000) if request_time_epoch_ms is None else request_time_epoch_ms
    return {
        "requestId": request_id or str(uuid.uuid4()),
        "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTimeEpoch": epoch_ms,
        # CLF format, as documented: dd/MMM/yyyy:HH:mm:ss +0000
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000)),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "stage": stage,
        "resourcePath": resource_path,
        "resourceId": resource_id,
        "path": f"/{stage}{path}",
        "httpMethod": http_method,
        "apiId": api_id,
        "accountId": account_id,
        "protocol": "HTTP/1.1",
        "responseOverride": {"status": None, "header": {}},
    }


# --------------------------------------------------------------------------- rendering

_TEMPLATE_CACHE: dict[str, airspeed.Template] = {}


def render(
    template: str,
    input: Input,
    context: dict[str, Any],
    stage_variables: Mapping[str, str] | None = None,
) -> str:
    """Render an API Gateway mapping template. `context` is mutated by `#set($context...)`."""
    compiled = _TEMPLATE_CACHE.get(template)
    if compiled is None:
        compiled = _TEMPLATE_CACHE[template] = airspeed.Template(template)
    namespace = {
        "input": input,
        "util": Util(),
        "context": context,
        "stageVariables": dict(stage_variables or {}),
    }
    return str(compiled.merge(namespace))
