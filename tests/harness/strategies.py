"""Hypothesis strategies for webhook payloads and headers, shared by the template and reliability tests."""

from __future__ import annotations

import re

from hypothesis import strategies as st

# Characters SQS accepts in a message body (SendMessage API reference):
# #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
SQS_ALLOWED = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")

# Text that breaks naive templates: form metacharacters, VTL syntax, Terraform
# syntax, line ends, and the edges of the allowed ranges. Not U+FFFD: the template
# refuses a body that holds it (400 invalid_body), because it is what API Gateway
# makes of bytes that are not UTF-8 (docs/message-contract.md).
TRICKY = [
    "&", "+", "=", "%", "%20", "'", '"', "\\", "\n", "\r\n", "\t", " ", "$", "#", "##", "#end",
    "#set($n = 99)", "$context.requestId", "$" + "{source}", "$!x", "&MessageAttribute.1.Name=x",
    "~*._-", "é", "😀", "\u2028", "\ufffc", "\ud7ff", "\ue000", "\U0010ffff",
]  # fmt: skip

# Text the template queues as it is: SQS's characters, without U+FFFD (see TRICKY).
sqs_text = st.text(
    st.characters(exclude_categories=["Cs"]).filter(
        lambda c: c != "\ufffd" and SQS_ALLOWED.fullmatch(c) is not None
    )
)
# Any body SQS can hold (possibly empty), weighted towards the tricky pieces.
bodies = st.one_of(sqs_text, st.lists(st.one_of(st.sampled_from(TRICKY), sqs_text), max_size=12).map("".join))
# HTTP field values: visible ASCII, space and tab (RFC 9110 field-vchar, no obs-text).
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=80)
