"""Checks the module, modules/* and examples/* against the hashicorp/aws 6.x schema.

The Go module proxy serves no 6.x build of the aws provider that this repository can
compile, but HashiCorp's prebuilt CDKTF bindings (PyPI `cdktf-cdktf-provider-aws`,
generated from one aws provider release) carry that release's schema in their jsii
assembly: every resource and data source, each argument and each nested block.

    python -m tools.schema_check extract --wheel W.whl --out SCHEMA.json
        (run once by `make tools`) keeps, from the assembly, only what the check needs:
        type -> arguments, nested blocks (recursively) and deprecation notes.
    python -m tools.schema_check [--schema SCHEMA.json] [DIR ...]
        (run by `make lint`) parses every *.tf in DIR (default: the module, modules/*,
        examples/*) with python-hcl2 and checks that every `resource` and `data` type of
        the aws provider exists, and that every argument and nested block each one sets
        (inside `dynamic` blocks too) exists there. A deprecation note is an error.

Exit status: 0 clean, 1 findings, 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import tarfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):  # run as `python tools/schema_check.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import hcl_reader

ROOT: Final = Path(__file__).resolve().parents[1]
SCHEMA_FORMAT: Final = 2
PROVIDER_PREFIX: Final = "aws_"

# Terraform's own meta-arguments and meta-blocks: valid in every resource and data block.
META_ARGUMENTS: Final = frozenset({"count", "for_each", "provider", "depends_on"})
META_BLOCKS: Final = frozenset({"lifecycle", "provisioner", "connection"})
PROVIDER_META: Final = frozenset({"alias"})
DYNAMIC_ARGUMENTS: Final = frozenset({"for_each", "iterator", "labels"})

_LINK: Final = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/hashicorp/aws/(?P<version>[\w.-]+)/docs/"
    r"(?P<kind>resources|data-sources)/(?P<page>[\w-]+)(?:#(?P<anchor>\w+))? (?P<label>[\w#.-]+)\}"
)
_DOC_SENTENCE: Final = re.compile(r"Docs at Terraform Registry: \{@link [^}]*\}\.?")
# A note, not any mention: "Deprecated: ...", "... is deprecated", "**Deprecated** ...".
_DEPRECATED_WORD: Final = re.compile(r"(^|[.:]\s+)\**deprecated\b|\b(is|are|has been|was) deprecated\b", re.I)


def default_cache() -> Path:
    return Path(
        os.environ.get("WEBHOOK_INGEST_CACHE", Path.home() / ".cache" / "terraform-aws-webhook-ingest")
    )


def default_schema_path() -> Path:
    version = os.environ.get("WEBHOOK_INGEST_AWS_SCHEMA_VERSION", "6.25.0")
    return default_cache() / "schema" / f"aws-{version}.json"


# --------------------------------------------------------------------------------------
# extract: the jsii assembly -> the compact schema
# --------------------------------------------------------------------------------------


def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _deprecation(docs: Mapping[str, Any]) -> str | None:
    """A deprecation note in a jsii docs object: jsii's own field, or the word in the text
    that the generator copied from the provider (the registry link sentence removed)."""
    if docs.get("deprecated"):
        return str(docs["deprecated"])
    text = " ".join(_DOC_SENTENCE.sub("", str(docs.get(k, ""))) for k in ("summary", "remarks")).strip()
    return text if _DEPRECATED_WORD.search(text) else None


def _struct_fqn(type_ref: Mapping[str, Any], types: Mapping[str, Any]) -> str | None:
    """The provider struct a property holds (directly, in a list/map, or in a union)."""
    if "fqn" in type_ref:
        fqn = type_ref["fqn"]
        return fqn if types.get(fqn, {}).get("datatype") else None
    if "collection" in type_ref:
        return _struct_fqn(type_ref["collection"]["elementtype"], types)
    for member in type_ref.get("union", {}).get("types", []):
        found = _struct_fqn(member, types)
        if found:
            return found
    return None


def _struct_schema(fqn: str, types: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    arguments: dict[str, dict[str, Any]] = {}
    blocks: dict[str, dict[str, Any]] = {}
    if depth > 30:
        raise ValueError(f"{fqn}: nesting deeper than 30 levels")
    for prop in types[fqn].get("properties", []):
        docs = prop.get("docs", {})
        anchors = [
            m.group("anchor") for m in _LINK.finditer(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
        ]
        name = next((a for a in anchors if a), None) or _camel_to_snake(prop["name"])
        entry: dict[str, Any] = {}
        note = _deprecation(docs)
        if note:
            entry["deprecated"] = note
        struct = _struct_fqn(prop["type"], types)
        if struct and re.fullmatch(r"\S+ block\.?", docs.get("summary", "")):
            entry.update(_struct_schema(struct, types, depth + 1))
            blocks[name] = entry
        else:
            arguments[name] = entry
    return {"arguments": arguments, "blocks": blocks}


def extract_from_assembly(assembly: Mapping[str, Any]) -> dict[str, Any]:
    types: Mapping[str, Any] = assembly["types"]
    out: dict[str, Any] = {"provider_config": {}, "resources": {}, "data_sources": {}}
    versions: set[str] = set()
    for t in types.values():
        if t.get("kind") == "class" and t.get("base") == "cdktf.TerraformProvider":
            config = next(p for p in t["initializer"]["parameters"] if p["name"] == "config")
            out["provider_config"] = _struct_schema(config["type"]["fqn"], types)
            continue
        if t.get("kind") != "class" or t.get("base") not in (
            "cdktf.TerraformResource",
            "cdktf.TerraformDataSource",
        ):
            continue
        match = _LINK.search(t.get("docs", {}).get("summary", ""))
        config = next(
            (p for p in t.get("initializer", {}).get("parameters", []) if p["name"] == "config"), None
        )
        if match is None or config is None:
            continue
        versions.add(match.group("version"))
        kind = "resources" if match.group("kind") == "resources" else "data_sources"
        entry = _struct_schema(config["type"]["fqn"], types)
        note = _deprecation(t.get("docs", {}))
        if note:
            entry["deprecated"] = note
        out[kind][match.group("label")] = entry
    if len(versions) != 1:
        raise ValueError(f"expected one aws provider version in the assembly, found {sorted(versions)}")
    return {
        "format": SCHEMA_FORMAT,
        "provider": "hashicorp/aws",
        "provider_version": versions.pop(),
        "source": f"{assembly.get('name')}@{assembly.get('version')} (jsii assembly)",
        **out,
    }


def read_assembly(wheel: Path) -> dict[str, Any]:
    """The `.jsii` assembly inside the wheel's bundled npm tarball."""
    with zipfile.ZipFile(wheel) as zf:
        name = next((n for n in zf.namelist() if n.endswith(".jsii.tgz")), None)
        if name is None:
            raise ValueError(f"{wheel}: no *.jsii.tgz inside")
        with zf.open(name) as raw, tarfile.open(fileobj=io.BytesIO(raw.read()), mode="r:gz") as tar:
            member = tar.extractfile("package/.jsii")
            if member is None:
                raise ValueError(f"{wheel}: {name} has no package/.jsii")
            return json.load(member)


def extract(wheel: Path, out: Path) -> dict[str, Any]:
    schema = extract_from_assembly(read_assembly(wheel))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True), encoding="utf-8")
    tmp.replace(out)
    return schema


# --------------------------------------------------------------------------------------
# check: the repository's *.tf against the schema
# --------------------------------------------------------------------------------------


@dataclass
class Report:
    findings: list[str] = field(default_factory=list)
    types_checked: int = 0
    arguments_checked: int = 0
    blocks_checked: int = 0
    skipped_types: set[str] = field(default_factory=set)

    def error(self, where: str, message: str) -> None:
        self.findings.append(f"{where}: {message}")


def _check_body(
    block: hcl_reader.Block,
    schema: Mapping[str, Any],
    path: str,
    where: str,
    report: Report,
    top: bool,
    meta: frozenset[str] = frozenset(),
) -> None:
    arguments: Mapping[str, Any] = schema.get("arguments", {})
    blocks: Mapping[str, Any] = schema.get("blocks", {})
    for name, attr in block.attributes.items():
        if (top and name in META_ARGUMENTS) or name in meta:
            continue
        report.arguments_checked += 1
        at = f"{where}:{attr.line}"
        if name in arguments:
            if arguments[name].get("deprecated"):
                report.error(at, f"{path}.{name} is deprecated: {arguments[name]['deprecated']}")
        elif name in blocks:
            report.error(at, f"{path}.{name} is a nested block in the schema, set as an argument")
        else:
            report.error(at, f"{path} has no argument {name!r}")
    for child in block.blocks:
        if top and child.type in META_BLOCKS:
            continue
        at = f"{where}:{child.line}"
        if child.type == "dynamic":
            if len(child.labels) != 1:
                report.error(at, f"{path}: a dynamic block needs exactly one label")
                continue
            name = child.labels[0]
            extra = sorted(set(child.attributes) - DYNAMIC_ARGUMENTS)
            if extra:
                report.error(
                    at, f"{path}: dynamic {name!r} sets {', '.join(extra)} (only for_each, iterator, labels)"
                )
            contents = child.blocks_of("content")
            if len(contents) != 1:
                report.error(at, f"{path}: dynamic {name!r} needs exactly one content block")
                continue
            body, label = contents[0], f"{path}.{name} (dynamic)"
        else:
            name, body, label = child.type, child, f"{path}.{child.type}"
        report.blocks_checked += 1
        if name in blocks:
            if blocks[name].get("deprecated"):
                report.error(at, f"{label} is deprecated: {blocks[name]['deprecated']}")
            _check_body(body, blocks[name], f"{path}.{name}", where, report, top=False)
        elif name in arguments:
            report.error(at, f"{path}.{name} is an argument in the schema, written as a block")
        else:
            report.error(at, f"{path} has no nested block {name!r}")


def check_file(path: Path, schema: Mapping[str, Any], report: Report, display: str | None = None) -> None:
    where = display or str(path)
    try:
        root = hcl_reader.parse_file(path)
    except hcl_reader.HclError as exc:
        report.error(where, f"cannot parse: {exc}")
        return
    for block in root.blocks_of("provider"):
        if block.labels == ["aws"]:
            report.types_checked += 1
            _check_body(
                block, schema["provider_config"], "provider.aws", where, report, top=False, meta=PROVIDER_META
            )
    for kind, key in (("resource", "resources"), ("data", "data_sources")):
        for block in root.blocks_of(kind):
            if len(block.labels) != 2:
                report.error(f"{where}:{block.line}", f"a {kind} block needs a type and a name")
                continue
            rtype, rname = block.labels
            if not rtype.startswith(PROVIDER_PREFIX):
                report.skipped_types.add(rtype)
                continue
            address = f"{'data.' if kind == 'data' else ''}{rtype}.{rname}"
            report.types_checked += 1
            type_schema = schema[key].get(rtype)
            if type_schema is None:
                report.error(
                    f"{where}:{block.line}",
                    f"{address}: no {kind} type {rtype!r} in aws {schema['provider_version']}",
                )
                continue
            if type_schema.get("deprecated"):
                report.error(
                    f"{where}:{block.line}", f"{address}: {rtype} is deprecated: {type_schema['deprecated']}"
                )
            _check_body(block, type_schema, address, where, report, top=True)


def default_dirs(root: Path = ROOT) -> list[Path]:
    subdirs = sorted(p for base in ("modules", "examples") for p in (root / base).glob("*") if p.is_dir())
    return [root, *subdirs]


def tf_files(dirs: Iterable[Path]) -> Iterator[Path]:
    for d in dirs:
        yield from sorted(d.glob("*.tf"))


def load_schema(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(
            f"schema_check: {path} is missing: run `make tools` (it extracts the schema once)"
        ) from None
    if schema.get("format") != SCHEMA_FORMAT:
        raise SystemExit(
            f"schema_check: {path} has format {schema.get('format')}, expected {SCHEMA_FORMAT}: run `make tools`"
        )
    return schema


def run_check(schema_path: Path, dirs: list[Path]) -> tuple[Report, dict[str, Any]]:
    schema = load_schema(schema_path)
    report = Report()
    for tf in tf_files(dirs):
        try:
            display = str(tf.relative_to(Path.cwd()))
        except ValueError:
            display = str(tf)
        check_file(tf, schema, report, display)
    return report, schema


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    summary = (__doc__ or "").split("\n\n")[0]
    if argv[:1] == ["extract"]:
        ex = argparse.ArgumentParser(prog="python -m tools.schema_check extract", description=summary)
        ex.add_argument("--wheel", type=Path, required=True, help="the cdktf-cdktf-provider-aws wheel")
        ex.add_argument("--out", type=Path, default=default_schema_path(), help="default: %(default)s")
        args = ex.parse_args(argv[1:])
        args.command = "extract"
    else:
        parser = argparse.ArgumentParser(
            prog="python -m tools.schema_check",
            description=summary,
            epilog="`python -m tools.schema_check extract --wheel W` builds the schema file (make tools).",
        )
        parser.add_argument("--schema", type=Path, default=default_schema_path(), help="default: %(default)s")
        parser.add_argument(
            "dirs",
            nargs="*",
            type=Path,
            help="directories of *.tf (default: the module, modules/*, examples/*)",
        )
        args = parser.parse_args(argv)
        args.command = "check"
    if args.command == "extract":
        try:
            schema = extract(args.wheel, args.out)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, tarfile.TarError) as exc:
            print(f"schema_check: extract failed: {exc}", file=sys.stderr)
            return 2
        print(
            f"schema_check: aws {schema['provider_version']} from {schema['source']}: "
            f"{len(schema['resources'])} resources, {len(schema['data_sources'])} data sources -> {args.out}"
        )
        return 0
    dirs = args.dirs or default_dirs()
    report, schema = run_check(args.schema, dirs)
    for finding in report.findings:
        print(f"schema_check: {finding}", file=sys.stderr)
    skipped = (
        f"; not aws, not checked: {', '.join(sorted(report.skipped_types))}" if report.skipped_types else ""
    )
    print(
        f"schema_check: aws {schema['provider_version']} schema ({schema['source']}): "
        f"{report.types_checked} resource, data and provider blocks, {report.arguments_checked} arguments and "
        f"{report.blocks_checked} nested blocks checked, {len(report.findings)} finding(s){skipped}"
    )
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
