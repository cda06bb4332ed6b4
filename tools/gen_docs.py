"""Regenerates the README's input and output tables from variables.tf and outputs.tf.

terraform-docs is not installable offline here, so this reads the few fields it
needs (name, type, default, description) from the module's own files.
`python -m tools.gen_docs --check` fails when the README is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def _blocks(text: str, kind: str) -> list[tuple[str, str]]:
    """(name, body) of each top-level `kind "name" { ... }` block, by brace matching."""
    found = []
    for match in re.finditer(rf'^{kind} "([^"]+)" {{', text, re.M):
        depth, i = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        found.append((match.group(1), text[match.end() : i]))
    return found


def _attr(body: str, name: str) -> str | None:
    heredoc = re.search(rf"^\s*{name}\s*=\s*<<-?EOT\n(.*?)\n\s*EOT", body, re.S | re.M)
    if heredoc:
        return " ".join(line.strip() for line in heredoc.group(1).splitlines())
    match = re.search(rf"^  {name}\s*=\s*(.+)$", body, re.M)
    if not match:
        return None
    value = match.group(1).strip()
    if value.startswith(("{", "[", "object(", "map(", "list(")) and value.count("(") + value.count(
        "{"
    ) + value.count("[") > value.count(")") + value.count("}") + value.count("]"):
        start = body.index(match.group(0)) + len(match.group(0)) - len(match.group(1))
        depth, i, opened = 0, start, False
        while True:
            step = {"(": 1, "{": 1, "[": 1, ")": -1, "}": -1, "]": -1}.get(body[i], 0)
            depth += step
            opened = opened or step > 0
            if opened and depth == 0:
                break
            i += 1
        value = " ".join(body[start : i + 1].split())
    return value


def render() -> str:
    variables = _blocks((ROOT / "variables.tf").read_text(), "variable")
    outputs = _blocks((ROOT / "outputs.tf").read_text(), "output")
    lines = ["### Inputs", "", "| Name | Description | Type | Default |", "|---|---|---|---|"]
    for name, body in variables:
        desc = (_attr(body, "description") or "").strip('"').replace("|", "\\|")
        vtype = (_attr(body, "type") or "any").replace("|", "\\|")
        if len(vtype) > 60:
            vtype = vtype.split("(")[0] + "(object)" if "object" in vtype else vtype[:57] + "..."
        default = _attr(body, "default")
        default = "required" if default is None else f"`{default}`"
        lines.append(f"| `{name}` | {desc} | `{vtype}` | {default} |")
    lines += ["", "### Outputs", "", "| Name | Description |", "|---|---|"]
    for name, body in outputs:
        lines.append(f"| `{name}` | {(_attr(body, 'description') or '').strip(chr(34))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md is out of date")
    args = parser.parse_args(argv)
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    updated = f"{head}{BEGIN}\n{render()}\n{END}{tail}"
    if args.check:
        if updated != text:
            print("README.md input/output tables are stale: run `python -m tools.gen_docs`", file=sys.stderr)
            return 1
        return 0
    readme.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
