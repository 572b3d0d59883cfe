#!/usr/bin/env bash
# The Kubernetes manifests (deploy/k8s), rendered and validated offline:
# test/integration/k8s-manifests.test.ts runs `validate` on the base and every overlay.
#
# Usage: scripts/k8s.sh install                 the tools below, cached; a no-op when present
#        scripts/k8s.sh render <kustomize dir>  print the rendered objects (YAML)
#        scripts/k8s.sh json <kustomize dir>    the rendered objects as one JSON array (for tests)
#        scripts/k8s.sh validate <dir|file.yaml>...
#                                               a kustomize dir is rendered first; one JSON line
#                                               per object; exit 1 when any object is invalid
#
# Tools (pinned, cached in $CALLSTREAM_K8S_HOME, default ~/.cache/callstream/k8s):
#   kustomize         sigs.k8s.io/kustomize/kustomize/v5, built with `go install` through the Go
#                     module proxy (~45 s once)
#   kubernetes-validate  from PyPI, in a venv: it bundles the JSON schemas of every Kubernetes
#                     version, so nothing is fetched when validating (kubeconform downloads its
#                     schemas from GitHub, which this machine cannot reach)
#   the ServiceMonitor CRD  monitoring.coreos.com_servicemonitors.yaml, from the Go module
#                     github.com/prometheus-operator/prometheus-operator (`go mod download`): a
#                     ServiceMonitor is validated against the CRD's openAPIV3Schema
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
K8S_HOME="${CALLSTREAM_K8S_HOME:-$HOME/.cache/callstream/k8s}"
KUSTOMIZE_VERSION=v5.7.1
PROMETHEUS_OPERATOR_VERSION=v0.86.1
KUBERNETES_VERSION="${CALLSTREAM_K8S_VERSION:-1.34.0}"
REQUIREMENTS="$SCRIPT_DIR/k8s/requirements.txt"

KUSTOMIZE="$K8S_HOME/bin/kustomize"
VENV="$K8S_HOME/venv"
CRD="$K8S_HOME/crds/$PROMETHEUS_OPERATOR_VERSION/monitoring.coreos.com_servicemonitors.yaml"

log() { printf '[k8s] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install_locked() {
  local t0=$SECONDS
  if [[ ! -x "$KUSTOMIZE" ]] || [[ "$("$KUSTOMIZE" version 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]]; then
    command -v go >/dev/null 2>&1 || die "go not found: it builds kustomize from the Go module proxy"
    log "go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
    GOBIN="$K8S_HOME/bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2 ||
      die "go install kustomize failed"
  fi
  if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$REQUIREMENTS" "$VENV/requirements.txt"; then
    log "venv with $(tr '\n' ' ' <"$REQUIREMENTS")"
    rm -rf "$VENV"
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS" >&2 ||
      die "pip install -r $REQUIREMENTS failed"
    cp "$REQUIREMENTS" "$VENV/requirements.txt"
  fi
  if [[ ! -s "$CRD" ]]; then
    command -v go >/dev/null 2>&1 || die "go not found: it downloads the prometheus-operator module"
    log "go mod download github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION (for its ServiceMonitor CRD)"
    local dir
    dir="$(cd "$K8S_HOME" && GOFLAGS=-mod=mod go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
      "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')" || die "go mod download failed"
    mkdir -p "$(dirname "$CRD")"
    cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$CRD.tmp" && mv "$CRD.tmp" "$CRD"
  fi
  log "kustomize $("$KUSTOMIZE" version), $("$VENV/bin/pip" list 2>/dev/null | awk '$1=="kubernetes-validate"{print $1" "$2}'), ServiceMonitor CRD $PROMETHEUS_OPERATOR_VERSION ($((SECONDS - t0)) s)"
}

cmd_install() {
  mkdir -p "$K8S_HOME"
  exec 9>"$K8S_HOME/.install.lock"
  command -v flock >/dev/null 2>&1 && flock 9
  install_locked
}

cmd_render() {
  [[ $# == 1 ]] || die "usage: scripts/k8s.sh render <kustomize dir>"
  "$KUSTOMIZE" build "$1"
}

cmd_validate() {
  [[ $# -ge 1 ]] || die "usage: scripts/k8s.sh validate <dir|file.yaml>..."
  local tmp files=() target
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  for target in "$@"; do
    if [[ -d "$target" ]]; then
      "$KUSTOMIZE" build "$target" >"$tmp/${#files[@]}.yaml" || die "kustomize build $target failed"
      files+=("$tmp/${#files[@]}.yaml")
    else
      files+=("$target")
    fi
  done
  "$VENV/bin/python" "$SCRIPT_DIR/k8s/validate.py" "$KUBERNETES_VERSION" "$CRD" "${files[@]}"
}

case "${1:-}" in
  install) cmd_install ;;
  render) shift; cmd_install >/dev/null 2>&1 || cmd_install; cmd_render "$@" ;;
  json)
    shift; cmd_install >/dev/null 2>&1 || cmd_install
    cmd_render "$@" | "$VENV/bin/python" -c 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))'
    ;;
  validate) shift; cmd_install >/dev/null 2>&1 || cmd_install; cd "$REPO_ROOT"; cmd_validate "$@" ;;
  *)
    echo "usage: $0 install | render <dir> | json <dir> | validate <dir|file.yaml>..." >&2
    exit 2
    ;;
esac
