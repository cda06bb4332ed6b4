#!/usr/bin/env bash
# `make package`: the deployed zip, via the same lambda-package module as the root module.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/build/webhook-processor.zip"
mkdir -p "$ROOT/build"
cd "$ROOT/tools/package"
terraform init -input=false -no-color >/dev/null
terraform apply -auto-approve -input=false -no-color -var "output_path=$OUT" >/dev/null
hash=$(terraform output -raw output_base64sha256)
echo "package: $OUT"
echo "size:    $(stat -c %s "$OUT") bytes, $(unzip -Z1 "$OUT" | wc -l) files"
echo "base64sha256 (the Lambda source_code_hash): $hash"
unzip -Z1 "$OUT" | sed 's/^/  /'
