# shellcheck shell=bash
# shellcheck disable=SC2034  # variables used by the scripts that source this file
# Helpers for tests/run (sourced, not run). Needs REPO set to the repository root.
#
# Conventions:
#   .venv/<name>/              virtual environments, rebuilt when their stamp changes
#   .cache/collections/ansible_collections/portmatrix/xenserver/
#                              copy of the checkout (what git would commit) that
#                              ansible-lint, pytest, molecule and the build run in
#   .cache/sanity/ansible_collections/portmatrix/xenserver/
#                              the same, less galaxy.yml's build_ignore paths (what ships):
#                              ansible-test sanity runs there (scripts/collection_tree.py)
#   .cache/pybin/              python3.X links for ansible-test's interpreter lookup
#   build/                     collection artifact and its test installation

: "${REPO:?REPO must be set before sourcing scripts/lib.sh}"

PYENV_ROOT_GUESS="${PYENV_ROOT:-${HOME:-/root}/.pyenv}"
CACHE_DIR="$REPO/.cache"
PYBIN="$CACHE_DIR/pybin"
COLLECTIONS_ROOT="$CACHE_DIR/collections"
TREE="$COLLECTIONS_ROOT/ansible_collections/portmatrix/xenserver"
SANITY_TREE="$CACHE_DIR/sanity/ansible_collections/portmatrix/xenserver"
BUILD_DIR="$REPO/build"
INSTALL_ROOT="$BUILD_DIR/installed"

if [ -t 1 ]; then
  C_BOLD=$'\033[1m' C_RED=$'\033[31m' C_GREEN=$'\033[32m' C_YELLOW=$'\033[33m' C_OFF=$'\033[0m'
else
  C_BOLD='' C_RED='' C_GREEN='' C_YELLOW='' C_OFF=''
fi

say()  { printf '%s\n' "$*"; }
info() { printf '%s--- %s%s\n' "$C_BOLD" "$*" "$C_OFF"; }
warn() { printf '%s!!! %s%s\n' "$C_YELLOW" "$*" "$C_OFF" >&2; }
err()  { printf '%sERROR: %s%s\n' "$C_RED" "$*" "$C_OFF" >&2; }

# Loud, framed message for things a reader of a CI log must not miss.
loud() {
  local line='!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
  printf '%s%s\n' "$C_YELLOW" "$line" >&2
  printf '!!! %s\n' "$@" >&2
  printf '%s%s\n' "$line" "$C_OFF" >&2
}

# find_python X.Y [X.Y ...]: print the path of the first working interpreter of the
# given versions, looking in $PYENV_ROOT/versions (newest patch first), then PATH, then
# /usr/bin and /usr/local/bin. pyenv shims of inactive versions are rejected because the
# interpreter is run once to check it.
find_python() {
  local want cand cands
  for want in "$@"; do
    mapfile -t cands < <(printf '%s\n' "$PYENV_ROOT_GUESS"/versions/"$want".*/bin/python"$want" | sort -V -r)
    cands+=("$(command -v "python$want" 2>/dev/null)" "/usr/local/bin/python$want" "/usr/bin/python$want")
    for cand in "${cands[@]}"; do
      if [ -z "$cand" ] || [ ! -x "$cand" ]; then continue; fi
      if [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
        printf '%s\n' "$cand"
        return 0
      fi
    done
  done
  return 1
}

# requirement_files FILE: FILE plus the files it includes with -r (recursively).
requirement_files() {
  local file=$1 dir inc
  printf '%s\n' "$file"
  dir=$(dirname "$file")
  while read -r inc; do
    requirement_files "$dir/$inc"
  done < <(sed -n 's/^[[:space:]]*-r[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$file")
}

# ensure_venv NAME PYTHON REQUIREMENTS: create or reuse .venv/NAME.
# The stamp is a hash of the interpreter (path and version) and of every requirement
# file involved; a matching stamp means the venv is reused as is.
ensure_venv() {
  local name=$1 python=$2 req=$3
  local dir="$REPO/.venv/$name" stamp want have
  want=$( {
      printf '%s\n' "$python"
      "$python" -c 'import sys; print(sys.version)'
      requirement_files "$req" | while read -r f; do printf '== %s\n' "${f#"$REPO"/}"; cat "$f"; done
    } | sha256sum | cut -d' ' -f1)
  stamp="$dir/.portmatrix-stamp"
  have=$(cat "$stamp" 2>/dev/null || true)
  if [ -x "$dir/bin/python" ] && [ "$have" = "$want" ] && "$dir/bin/python" -c 'pass' 2>/dev/null; then
    say "venv $name: up to date ($("$dir/bin/python" -V 2>&1), ${req#"$REPO"/})"
    return 0
  fi
  say "venv $name: creating with $python ($("$python" -V 2>&1)) from ${req#"$REPO"/}"
  rm -rf "$dir"
  "$python" -m venv "$dir" || { err "python -m venv failed for $name"; return 1; }
  # (the grep drops this machine's pip-config noise about absent local index folders)
  "$dir/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$req" 2>&1 \
    | grep -v 'is ignored: it is neither a file nor a directory'
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    err "pip install -r ${req#"$REPO"/} failed for venv $name"
    return 1
  fi
  printf '%s\n' "$want" > "$stamp"
  say "venv $name: ready"
}

# seed_offline_get_pip VENV_DIR: put scripts/offline-get-pip.py where ansible-test looks
# for its cached pip bootstrap script, for every pip version that ansible-test (as
# installed in VENV_DIR) may bootstrap. See the comment in scripts/offline-get-pip.py.
seed_offline_get_pip() {
  local venv=$1 src="$REPO/scripts/offline-get-pip.py" reqpy cache ver dest
  reqpy=$(printf '%s\n' "$venv"/lib/python3.*/site-packages/ansible_test/_internal/python_requirements.py | head -n1)
  [ -f "$reqpy" ] || { err "ansible-test not found in $venv"; return 1; }
  cache="${HOME:-/root}/.ansible/test/cache"
  mkdir -p "$cache"
  # The pip versions ansible-test bootstraps, e.g. pip='23.1.2' in get_venv_packages().
  grep -oE "pip=['\"][0-9][0-9.]*['\"]" "$reqpy" | grep -oE '[0-9][0-9.]*' | sort -u | while read -r ver; do
    dest="$cache/get_pip_${ver//./_}.py"
    if [ -f "$dest" ] && ! grep -q 'Offline stand-in for get-pip.py' "$dest"; then
      continue  # a real get-pip.py someone cached: it works too, leave it
    fi
    cmp -s "$src" "$dest" 2>/dev/null || cp "$src" "$dest"
  done
}

# link_python X.Y PATH: make .cache/pybin/pythonX.Y point to PATH (for ansible-test).
link_python() {
  mkdir -p "$PYBIN"
  ln -sfn "$2" "$PYBIN/python$1"
}

# sync_tree PYTHON: (re)build the ansible_collections copies of the checkout.
sync_tree() {
  "$1" "$REPO/scripts/collection_tree.py" --repo "$REPO" --dest "$TREE" &&
    "$1" "$REPO/scripts/collection_tree.py" --repo "$REPO" --dest "$SANITY_TREE" --shipped
}

# run_filtered CMD...: run CMD, dropping this machine's pip-config noise (absent local
# index folders) and pip's progress bars from its output; returns CMD's status.
run_filtered() {
  "$@" 2>&1 | grep --line-buffered -v -E 'is ignored: it is neither a file nor a directory|━━━'
  return "${PIPESTATUS[0]}"
}

# apt_install PKG...: install Debian packages that are missing (root only).
APT_UPDATED=
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    warn "cannot install ${missing[*]} (needs root and apt-get)"
    return 1
  fi
  if [ -z "$APT_UPDATED" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
    APT_UPDATED=1
  fi
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
