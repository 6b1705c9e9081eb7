# Shared by the scripts in this folder: paths, logging, and the local stack's pieces.
# A "stack" is one moto server (own port, own PID file, own memory) plus the Terraform data dir and backend
# config pointing at it. Terraform state lives in the emulator's S3 (as it lives in S3 in AWS), so stopping
# moto drops the stack's state with it.
# shellcheck shell=bash

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$ROOT/.local"
VENV="$ROOT/.venv"
CHECKOV_VENV="$LOCAL_DIR/checkov-venv"
TF_DIR="$ROOT/terraform"
export TF_CLI_CONFIG_FILE="$LOCAL_DIR/terraform.rc"
export TF_IN_AUTOMATION=1
export TF_INPUT=0
# The emulator's region and fake credentials, for terraform's S3 backend and the AWS CLI / SDKs in scripts.
LOCAL_REGION="eu-west-1"
STATE_BUCKET="ecobid-tfstate"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Where Terraform's hashicorp/aws provider can be installed from without the registry, if anywhere.
provider_mirror() {
  local dir
  for dir in ${ECOBID_TF_PROVIDER_MIRROR:-} /opt/tf-plugins /usr/share/terraform/plugins \
    "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins"; do
    [ -n "$dir" ] && [ -d "$dir/registry.terraform.io/hashicorp/aws" ] && { echo "$dir"; return 0; }
  done
  return 1
}

python_bin() { "$VENV/bin/python" "$@"; }

stack_dir() { echo "$LOCAL_DIR/stacks/$1"; }

# Environment for terraform and AWS clients talking to stack $1.
stack_env() {
  local dir port
  dir="$(stack_dir "$1")"
  [ -f "$dir/port" ] || die "stack '$1' is not up (no $dir/port): run scripts/up"
  port="$(cat "$dir/port")"
  export TF_DATA_DIR="$dir/tfdata"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION="$LOCAL_REGION" AWS_DEFAULT_REGION="$LOCAL_REGION"
  export ECOBID_STACK_DIR="$dir"
}

moto_running() {
  local pidfile="$1/moto.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# start_moto NAME PORT: start the patched moto server for stack NAME unless it is already running.
start_moto() {
  local name="$1" port="$2" dir
  dir="$(stack_dir "$name")"
  mkdir -p "$dir"
  if moto_running "$dir"; then
    [ "$(cat "$dir/port")" = "$port" ] || die "stack '$name' already runs on port $(cat "$dir/port"), not $port: scripts/down first"
    log "moto already running for stack '$name' (pid $(cat "$dir/moto.pid"), port $port)"
    return 0
  fi
  if python_bin "$ROOT/scripts/local/stack.py" port-in-use "$port"
  then
    die "port $port is in use by another process: pick another with ECOBID_MOTO_PORT"
  fi
  # A new moto starts empty: any Terraform data of an earlier run of this stack is stale.
  rm -rf "$dir/tfdata"
  echo "$port" >"$dir/port"
  log "starting moto on 127.0.0.1:$port (stack '$name', log $dir/moto.log)"
  nohup "$VENV/bin/python" "$ROOT/scripts/local/moto_server.py" --port "$port" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"
  local i
  for i in $(seq 1 100); do
    if python_bin -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
      return 0
    fi
    moto_running "$dir" || { tail -20 "$dir/moto.log" >&2; die "moto exited during start-up (see $dir/moto.log)"; }
    sleep 0.1
  done
  die "moto did not answer on port $port within 10 s (see $dir/moto.log)"
}

# start_runner NAME [API_PORT [PREFIX [CDN_PORT]]]: run the local runner (ecobid-runner) for stack NAME in the
# background: the functions Terraform applied in workspace NAME (or those whose names start with PREFIX), their
# mappings, HTTP API, CloudFront distribution (on CDN_PORT) and schedules. Waits until it serves.
start_runner() {
  local name="$1" api_port="${2:-0}" prefix="${3:-ecobid-$1-}" cdn_port="${4:-0}" dir
  dir="$(stack_dir "$name")"
  stop_runner "$name"
  rm -f "$dir/runner/runner.json"
  "$(runner_bin)" serve --endpoint "$AWS_ENDPOINT_URL" --region "$LOCAL_REGION" \
    --prefix "$prefix" --code-dir "$ROOT/dist/lambda" --work-dir "$dir/runner" --api-port "$api_port" \
    --cdn-port "$cdn_port" \
    >"$dir/runner.log" 2>&1 &
  echo $! >"$dir/runner.pid"
  for _ in $(seq 1 100); do
    [ -f "$dir/runner/runner.json" ] && return 0
    kill -0 "$(cat "$dir/runner.pid")" 2>/dev/null || { tail -20 "$dir/runner.log" >&2; die "the local runner exited (log: $dir/runner.log)"; }
    sleep 0.2
  done
  die "the local runner did not start within 20 s (log: $dir/runner.log)"
}

# The runner's binary: scripts/package builds it with the Lambdas, in the same release build (one compile of
# every crate); built here only if it is missing.
runner_bin() {
  local bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/ecobid-runner"
  [ -x "$bin" ] || "$ROOT/scripts/package" >&2
  echo "$bin"
}

stop_runner() {
  local pidfile
  pidfile="$(stack_dir "$1")/runner.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

stop_moto() {
  local dir
  dir="$(stack_dir "$1")"
  stop_runner "$1"
  if moto_running "$dir"; then
    local pid
    pid="$(cat "$dir/moto.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # moto's memory held the state: drop what pointed at it.
  rm -rf "$dir"
}

# tf_init NAME: init the root module with state in the stack's emulated S3 bucket.
tf_init() {
  local name="$1"
  stack_env "$name"
  python_bin "$ROOT/scripts/local/stack.py" ensure-bucket "$STATE_BUCKET"
  cat >"$ECOBID_STACK_DIR/backend.hcl" <<EOF
bucket                      = "$STATE_BUCKET"
key                         = "ecobid/terraform.tfstate"
region                      = "$LOCAL_REGION"
endpoints                   = { s3 = "$AWS_ENDPOINT_URL" }
use_path_style              = true
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
EOF
  terraform -chdir="$TF_DIR" init -input=false -reconfigure -backend-config="$ECOBID_STACK_DIR/backend.hcl" >"$ECOBID_STACK_DIR/init.log" \
    || { cat "$ECOBID_STACK_DIR/init.log" >&2; die "terraform init failed"; }
}

# tf_workspace WS: select workspace WS, creating it if needed (run after tf_init).
tf_workspace() {
  terraform -chdir="$TF_DIR" workspace select -or-create=true "$1" >/dev/null
}

# Arguments every local plan/apply takes.
tf_local_vars() {
  echo "-var-file=env/local.tfvars" "-var=aws_endpoint_url=$AWS_ENDPOINT_URL"
}

# serve_workspace_api STACK WS: the API of workspace WS of a running stack, behind the stack's local runner if
# it already serves that API (scripts/up's), else behind a runner of our own for the workspace (stopped when
# the calling script exits). Sets API_BASE (http://host:port), API_POOL and API_CLIENT (its user pool and
# client, for tokens: `$(runner_bin) token`).
serve_workspace_api() {
  local stack="$1" ws="$2" outputs api_id api_port
  outputs="$ECOBID_STACK_DIR/outputs-$ws.json"
  TF_WORKSPACE="$ws" terraform -chdir="$TF_DIR" output -json >"$outputs" \
    || die "terraform output of workspace '$ws' failed"
  read -r api_id API_POOL API_CLIENT < <(python3 - "$outputs" "$ws" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
need = ["api_id", "user_pool_id", "user_pool_client_id"]
missing = [k for k in need if k not in o]
if missing:
    sys.exit(f"workspace {sys.argv[2]!r} has no output {', '.join(missing)} (it has: {', '.join(sorted(o)) or 'none'}): is it applied?")
print(*(o[k]["value"] for k in need))
PY
  ) || die "cannot read workspace '$ws' outputs ($outputs)"
  API_BASE="$(python3 - "$ECOBID_STACK_DIR/runner/runner.json" "$api_id" <<'PY' 2>/dev/null || true
import json, sys
print(json.load(open(sys.argv[1]))["apis"][sys.argv[2]])
PY
  )"
  if [ -z "$API_BASE" ] || ! [ -f "$ECOBID_STACK_DIR/runner.pid" ] \
    || ! kill -0 "$(cat "$ECOBID_STACK_DIR/runner.pid")" 2>/dev/null; then
    [ -f "$ECOBID_STACK_DIR/runner.pid" ] && kill -0 "$(cat "$ECOBID_STACK_DIR/runner.pid")" 2>/dev/null \
      && die "the stack's local runner serves another workspace than '$ws': stop it first (scripts/down stops the stack)"
    api_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # shellcheck disable=SC2064 # the stack's name is fixed now
    trap "stop_runner '$stack'" EXIT
    start_runner "$stack" "$api_port" "ecobid-$ws-"
    API_BASE="http://127.0.0.1:$api_port"
  fi
  API_BASE="${API_BASE%/}"
  [[ "$API_BASE" == http* ]] || API_BASE="http://$API_BASE"
  export API_BASE API_POOL API_CLIENT
}
