#!/usr/bin/env bash
# `make package`: the processor's code, via the same lambda-package module as the root module.
# The deployed zip holds these files byte for byte plus webhook_config/sources.json, the
# per-source configuration, so its hash (the function's CodeSha256, output
# processor_package_base64sha256) differs; this hash equals the module's
# processor_code_base64sha256 output.
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
echo "base64sha256 of the code (\`make package\`): $hash"
echo "  = the module's processor_code_base64sha256; the deployed zip adds webhook_config/sources.json"
unzip -Z1 "$OUT" | sed 's/^/  /'
