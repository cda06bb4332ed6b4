"""Regenerates the README's input and output tables from variables.tf and outputs.tf.

terraform-docs is not installable offline here, so this reads the few fields it needs
(name, type, default, description) with python-hcl2 (through tools/hcl_reader.py):
types and defaults are shown as written, on one line.
`python -m tools.gen_docs --check` fails when the README is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools import hcl_reader

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def _source(block: hcl_reader.Block, name: str) -> str | None:
    """An attribute's expression as written, whitespace collapsed to single spaces."""
    attr = block.attributes.get(name)
    return None if attr is None else " ".join(attr.text.split())


def _description(block: hcl_reader.Block) -> str:
    attr = block.attributes.get("description")
    if attr is None:
        return ""
    value = hcl_reader.attribute_value(attr)
    text = (
        value
        if isinstance(value, str)
        else value.text
        if isinstance(value, hcl_reader.NonScalar)
        else str(value)
    )
    return " ".join(line.strip() for line in text.strip().splitlines())


def render(root: Path = ROOT) -> str:
    variables = hcl_reader.parse_file(root / "variables.tf").blocks_of("variable")
    outputs = hcl_reader.parse_file(root / "outputs.tf").blocks_of("output")
    lines = ["### Inputs", "", "| Name | Description | Type | Default |", "|---|---|---|---|"]
    for block in variables:
        desc = _description(block).replace("|", "\\|")
        vtype = (_source(block, "type") or "any").replace("|", "\\|")
        if len(vtype) > 60:
            vtype = vtype.split("(")[0] + "(object)" if "object" in vtype else vtype[:57] + "..."
        default = _source(block, "default")
        default = "required" if default is None else f"`{default}`"
        lines.append(f"| `{block.labels[0]}` | {desc} | `{vtype}` | {default} |")
    lines += ["", "### Outputs", "", "| Name | Description |", "|---|---|"]
    for block in outputs:
        lines.append(f"| `{block.labels[0]}` | {_description(block)} |")
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
