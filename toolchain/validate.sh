#!/usr/bin/env bash
# terraform validate on the module and every example, with both engines, offline.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
for engine in terraform tofu; do
  mkdir -p "$WORK/$engine"
  tar -C "$ROOT" --exclude .git --exclude .terraform --exclude '*.tfstate*' --exclude .terraform.lock.hcl \
    --exclude '*_override.tf.json' -cf - . | tar -C "$WORK/$engine" -xf -
  for dir in . examples/minimal examples/complete; do
    (cd "$WORK/$engine/$dir" && "$engine" init -backend=false -input=false -no-color >/dev/null && "$engine" validate -no-color) \
      | sed "s|^|[$engine $dir] |"
  done
done
