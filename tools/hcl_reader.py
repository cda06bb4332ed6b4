"""HCL files read with python-hcl2 (a maintained HCL2 parser), for the repository's tools.

`parse()` gives a small tree of blocks and attributes, each with its line, and the
attribute's expression as python-hcl2 parsed it. `to_python()` gives a file's values as
python-hcl2's dict form (maps, lists, scalars; an expression is its "${...}" text). `literal()` turns an expression into a
Python value when it is a literal (number, string without interpolation, bool, null,
or a negated number) and into `NonScalar` otherwise; `source()` gives the expression's
text exactly as written. tools/cost.py, tools/gen_docs.py and tools/schema_check.py use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import hcl2
from hcl2.rules.base import AttributeRule, BlockRule, BodyRule
from hcl2.rules.expressions import ExprTermRule, UnaryOpRule
from hcl2.rules.literal_rules import FloatLitRule, IntLitRule, LiteralValueRule
from hcl2.rules.strings import HeredocTemplateRule, HeredocTrimTemplateRule, StringRule
from hcl2.utils import SerializationOptions
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken


class HclError(ValueError):
    """A file that is not valid HCL, or a construct the caller does not allow; says file:line."""


class NonScalar:
    """An expression that is not a literal number, string, bool or null; `text` is its source."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"NonScalar({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NonScalar) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


Scalar = int | float | str | bool | None
Value = Scalar | NonScalar


@dataclass
class Attribute:
    name: str
    expr: Any  # a python-hcl2 expression rule
    line: int
    text: str  # the expression's source text


@dataclass
class Block:
    type: str
    labels: list[str]
    line: int
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def blocks_of(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.type == kind]


_VALUE_OPTIONS: Final = SerializationOptions(
    with_comments=False, strip_string_quotes=True, preserve_heredocs=False
)
_LITERAL_STRING_PARTS: Final = {"STRING_CHARS", "ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"}
_TEMPLATE_START: Final = re.compile(r"(?<![$%])[$%]\{")


def _label(rule: Any) -> str:
    if isinstance(rule, StringRule):
        value = _literal_string(rule)
        return value if value is not None else rule.serialize()
    return str(rule.serialize())


def _error(origin: str, exc: UnexpectedInput) -> HclError:
    line = getattr(exc, "line", None) or "?"
    expected = set(getattr(exc, "expected", ()) or ())
    token = getattr(exc, "token", None)
    at_end = isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END")
    if {"DBLQUOTE", "STRING_CHARS"} <= expected:
        message = "unterminated string"
    elif at_end and "RBRACE" in expected:
        message = "unexpected end of file: a block is not closed"
    elif at_end:
        message = "unexpected end of file"
    elif isinstance(exc, UnexpectedToken) and token is not None:
        message = f"syntax error: unexpected {str(token)!r}"
    elif isinstance(exc, UnexpectedCharacters):
        message = f"syntax error: unexpected character {exc.char!r}"
    else:
        message = "syntax error"
    return HclError(f"{origin}:{line}: {message}")


def _body(body: BodyRule, text: str, origin: str, into: Block) -> None:
    for child in body.children:
        if isinstance(child, AttributeRule):
            name = str(child.identifier.serialize())
            line = child._meta.line
            if name in into.attributes:
                raise HclError(f"{origin}:{line}: attribute {name!r} is set twice")
            meta = child.expression._meta
            into.attributes[name] = Attribute(
                name, child.expression, line, text[meta.start_pos : meta.end_pos]
            )
        elif isinstance(child, BlockRule):
            kind, *labels = (_label(x) for x in child.labels)
            block = Block(kind, labels, child._meta.line)
            _body(child.body, text, origin, block)
            into.blocks.append(block)


def parse(text: str, origin: str = "<hcl>") -> Block:
    """The file as a root Block (type ""): its top-level attributes and blocks."""
    try:
        tree = hcl2.parses(text)
    except UnexpectedInput as exc:
        raise _error(origin, exc) from None
    except Exception as exc:  # python-hcl2's transformer rejects a few constructs after parsing
        raise HclError(f"{origin}: not valid HCL: {exc}") from None
    root = Block("", [], 1)
    _body(tree.body, text, origin, root)
    return root


def parse_file(path: Path) -> Block:
    return parse(path.read_text(encoding="utf-8"), str(path))


def _literal_string(rule: StringRule) -> str | None:
    parts = [p.content for p in rule.string_parts]
    if any(not hasattr(p, "lark_name") or p.lark_name() not in _LITERAL_STRING_PARTS for p in parts):
        return None  # an interpolation or a template directive
    return str(rule.serialize(_VALUE_OPTIONS)).replace("$${", "${").replace("%%{", "%{")


_HEREDOC: Final = re.compile(r"<<(-?)([A-Za-z_][\w-]*)\r?\n(.*?)^[ \t]*\2[ \t]*\r?\n?\Z", re.S | re.M)


def _heredoc_value(token: str) -> str | None:
    """A heredoc's value (each line with its newline; `<<-` strips the common indent), or None
    when it interpolates."""
    m = _HEREDOC.match(token)
    if m is None:
        return None
    lines = m.group(3).splitlines(keepends=True)
    if m.group(1):
        indent = min((len(x) - len(x.lstrip(" \t")) for x in lines if x.strip()), default=0)
        lines = [x[indent:] for x in lines]
    text = "".join(x.rstrip("\r\n") + "\n" for x in lines)
    if _TEMPLATE_START.search(text):
        return None
    return text.replace("$${", "${").replace("%%{", "%{")


def literal(expr: Any, source_text: str | None = None) -> Value:
    """The expression's value when it is a literal, else NonScalar(source text)."""
    e = expr
    while isinstance(e, ExprTermRule):
        e = e.expression
    if isinstance(e, IntLitRule):
        return int(str(e.token.value))
    if isinstance(e, FloatLitRule):
        return float(str(e.token.value))
    if isinstance(e, LiteralValueRule):
        return {"true": True, "false": False, "null": None}[str(e.token.value)]
    if isinstance(e, UnaryOpRule) and e.operator.strip() == "-":
        operand = literal(e.expr_term)
        if isinstance(operand, int | float) and not isinstance(operand, bool):
            return -operand
    if isinstance(e, StringRule):
        value = _literal_string(e)
        if value is not None:
            return value
    if isinstance(e, HeredocTemplateRule | HeredocTrimTemplateRule):
        value = _heredoc_value(str(e.heredoc.value))
        if value is not None:
            return value
    if source_text is None:
        source_text = str(expr.serialize(SerializationOptions(with_comments=False)))
        if source_text.startswith("${") and source_text.endswith("}"):
            source_text = source_text[2:-1]
    return NonScalar(" ".join(source_text.split()))


def attribute_value(attr: Attribute) -> Value:
    return literal(attr.expr, attr.text)


_DICT_OPTIONS: Final = SerializationOptions(strip_string_quotes=True)


def to_python(text: str, origin: str = "<hcl>") -> dict[str, Any]:
    """The file as python-hcl2's dict: maps and lists as dicts and lists, literals as Python
    values, any other expression as its "${...}" text, blocks as lists of dicts."""
    try:
        return dict(hcl2.loads(text, serialization_options=_DICT_OPTIONS))
    except UnexpectedInput as exc:
        raise _error(origin, exc) from None
    except Exception as exc:  # python-hcl2's transformer rejects a few constructs after parsing
        raise HclError(f"{origin}: not valid HCL: {exc}") from None
