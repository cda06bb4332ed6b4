#!/usr/bin/env bash
# `make localstack` (and `make test`) step: installs LocalStack core into the tool cache, for
# the differential suite in tests/localstack (issue 12). Nothing of LocalStack is committed:
# only the version below and the constraints file beside this script.
#   WEBHOOK_INGEST_CACHE  where (default ~/.cache/terraform-aws-webhook-ingest)
#   LOCALSTACK_PYTHON     a Python 3.13 interpreter (default: python3.13 on PATH, then pyenv's)
# A stamp names the version and the constraints' hash, so a warm run only checks it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${WEBHOOK_INGEST_CACHE:-$HOME/.cache/terraform-aws-webhook-ingest}
# localstack-core 2026.3.0 is the newest release that runs without an auth token; it needs
# Python 3.13 (on 3.11 its stores module fails with a SyntaxError, despite its metadata).
LOCALSTACK_VERSION=2026.3.0
CONSTRAINTS="$ROOT/toolchain/localstack-constraints.txt"
VENV="$CACHE/localstack-venv"
mkdir -p "$CACHE"/{logs,stamps}

find_python() {
  local cand
  for cand in "${LOCALSTACK_PYTHON:-}" python3.13 \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
    [ -n "$cand" ] || continue
    cand=$(command -v "$cand" 2>/dev/null) || continue
    # A pyenv shim exists even where 3.13 is not the selected version: ask the interpreter.
    if "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      printf '%s\n' "$cand"; return 0
    fi
  done
  return 1
}

key="localstack-core[runtime]==$LOCALSTACK_VERSION $(sha256sum "$CONSTRAINTS" | cut -c1-16)"
if [ -f "$CACHE/stamps/localstack" ] && [ "$(cat "$CACHE/stamps/localstack")" = "$key" ] &&
  [ -x "$VENV/bin/python" ]; then
  exit 0
fi

if ! PY=$(find_python); then
  echo "make localstack: needs Python 3.13 (set LOCALSTACK_PYTHON, put python3.13 on PATH, or 'pyenv install 3.13')" >&2
  exit 1
fi
START=$(date +%s)
logf="$CACHE/logs/localstack.log"
echo "[localstack] installing localstack-core[runtime]==$LOCALSTACK_VERSION with $PY into $VENV (log: $logf)"
rm -rf "$VENV"
if ! { "$PY" -m venv "$VENV" &&
  "$VENV/bin/pip" install --quiet -c "$CONSTRAINTS" "localstack-core[runtime]==$LOCALSTACK_VERSION" &&
  "$VENV/bin/python" -c 'import localstack.runtime.main'; } >"$logf" 2>&1; then
  echo "[localstack] FAILED after $(( $(date +%s) - START ))s; last lines of $logf:" >&2
  tail -n 25 "$logf" | sed 's/^/    /' >&2
  exit 1
fi
printf '%s' "$key" > "$CACHE/stamps/localstack"
echo "[localstack] installed in $(( $(date +%s) - START ))s"
