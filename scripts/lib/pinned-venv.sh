# shellcheck shell=bash
# A cached Python venv that matches a pinned requirements file exactly. Shared by
# scripts/schemathesis.sh and scripts/confluent-client.sh; the caller defines log and die.
#
# pinned_venv_install HOME REQUIREMENTS MIN_MINOR PYTHON_OVERRIDE CHECK...
#   Installs into HOME/venv unless its stamp (the Python version and the requirements)
#   matches, with a Python 3.MIN_MINOR+ (PYTHON_OVERRIDE if set). CHECK (a command; the
#   venv's bin/ comes first on its PATH) must succeed after installing and prints what was
#   installed. Concurrent installs (CI's install step and a test run) wait for each other.

# shellcheck source=find-python.sh
source "$(dirname "${BASH_SOURCE[0]}")/find-python.sh"

_pinned_venv_stamp() { # PYTHON REQUIREMENTS
  { "$1" -c 'import sys; print(sys.version.split()[0])'; cat "$2"; } | sha256sum | cut -d' ' -f1
}

_pinned_venv_install_locked() {
  local home="$1" requirements="$2" min_minor="$3" override="$4"
  shift 4
  local venv="$home/venv" stamp="$home/venv/.callstream-stamp" py t0=$SECONDS
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$(_pinned_venv_stamp "$venv/bin/python" "$requirements" 2>/dev/null)" ]]; then
    log "already installed ($venv)"
    return 0
  fi
  py="$(find_python "$min_minor" "$override")" || die "need Python >= 3.$min_minor"
  log "installing into $venv with $py ($("$py" --version 2>&1))"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary -r "$requirements"
  local installed
  installed="$(PATH="$venv/bin:$PATH" "$@")" || die "the installed venv fails its check: $*"
  _pinned_venv_stamp "$venv/bin/python" "$requirements" >"$stamp"
  log "installed $installed in $((SECONDS - t0))s"
}

pinned_venv_install() {
  local home="$1" requirements="$2"
  [[ -f "$requirements" ]] || die "missing $requirements"
  mkdir -p "$home"
  if command -v flock >/dev/null 2>&1; then
    (
      flock 9
      _pinned_venv_install_locked "$@"
    ) 9>"$home/.install.lock"
  else
    _pinned_venv_install_locked "$@"
  fi
}
