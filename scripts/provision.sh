#!/usr/bin/env bash
# Installs the programs the test suites need beyond Node and npm, only those missing: the
# first step of `npm test`, so a fresh machine either gets them or, within seconds, the one
# line that installs them, instead of a screen of unrelated test failures. .ci/run gets it
# through `npm test` too.
#
#   redis-server    the Redis suites start their own on free ports (redis-cli comes with it)
#   docker-compose  validates the compose files, without a Docker engine
#   ip, tc          network namespaces and delays of the multi-host suite (iproute2)
#   openssl         the certificates of the TLS tests
#   chromium        the browser suite drives it with playwright-core (or set CHROME_PATH)
#   pgrep           finds the worker processes of a supervisor (procps)
#
# As root it runs apt-get, with sudo when passwordless sudo works; otherwise it prints the
# exact command and exits 1. `apt-get update` runs only when something is missing, and
# --no-install-recommends keeps docker-compose from pulling in a whole Docker engine.
# With CI set, it prints the version of each program afterwards, for the log.
set -euo pipefail

# command:Debian package, in the order the install line names them.
NEEDED=(redis-server:redis-server docker-compose:docker-compose ip:iproute2 tc:iproute2 openssl:openssl
  chromium:chromium pgrep:procps)

has() {
  if [[ $1 == chromium && -n ${CHROME_PATH:-} ]]; then
    [[ -x $CHROME_PATH ]]
  else
    command -v "$1" >/dev/null 2>&1
  fi
}

# Sets `missing` (the packages to install, each once) and `absent` (the commands not found).
find_missing() {
  missing=()
  absent=()
  local entry command package
  for entry in "${NEEDED[@]}"; do
    command=${entry%%:*}
    package=${entry#*:}
    has "$command" && continue
    absent+=("$command")
    [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
  done
}

print_versions() {
  echo "redis-server:   $(redis-server --version)"
  echo "docker-compose: $(docker-compose version --short 2>/dev/null || docker-compose --version)"
  echo "iproute2:       $(ip -V)"
  echo "openssl:        $(openssl version)"
  echo "chromium:       $("${CHROME_PATH:-chromium}" --version 2>/dev/null | head -n 1)"
  echo "procps:         $(pgrep --version | head -n 1)"
}

find_missing
if ((${#missing[@]} > 0)); then
  install_line="sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    {
      echo "The tests need ${absent[*]}, not found here. Install them with:"
      echo "  $install_line"
      echo "(or run this as root, or with passwordless sudo, and it installs them itself)"
    } >&2
    exit 1
  fi
  echo "provision: installing ${missing[*]} (not found: ${absent[*]})" >&2
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  find_missing
  if ((${#absent[@]} > 0)); then
    echo "provision: installed the packages, but ${absent[*]} still not found on PATH ($PATH)" >&2
    exit 1
  fi
fi

if [[ -n ${CI:-} ]]; then print_versions; fi
