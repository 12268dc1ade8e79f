#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing.
# Usage: scripts/deps.sh            (build and test dependencies)
#        scripts/deps.sh --bench    (also the peers of `make bench`)
set -u
packages=(re2c lemon gcc make clang libsqlite3-dev libcurl4-openssl-dev libcjson-dev
          libmicrohttpd-dev libssl-dev python3 python3-aiosmtpd openssl sqlite3 valgrind wrk)
if [ "${1:-}" = "--bench" ]; then
    packages+=(lua5.4 luajit nodejs hyperfine nginx-light)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "deps: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/flow-deps.log 2>&1; then
    echo "deps: apt-get could not install: ${missing[*]} (see /tmp/flow-deps.log)" >&2
    tail -5 /tmp/flow-deps.log >&2
    exit 1
fi
