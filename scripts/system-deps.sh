#!/usr/bin/env bash
# Install the Debian packages the tests need (redis-server, postgresql, chromium, and docker.io +
# debootstrap for the image tests), only where missing. As root: apt-get installs them. Otherwise:
# prints what is missing and how to install it, and exits 0 (the tests then fail with a clear
# message). Fast when everything is present.
set -euo pipefail

missing=()

# have_pg_binaries: true when some /usr/lib/postgresql/*/bin has initdb and pg_ctl.
have_pg_binaries() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            return 0
        fi
    done
    return 1
}

# have_sbin_tool NAME: true when NAME is on PATH or in /usr/sbin (not on a user's PATH).
have_sbin_tool() {
    command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 ]]
}

command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
have_pg_binaries || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The image tests: a private Docker engine and a debootstrap base (scripts/docker-engine.sh).
have_sbin_tool dockerd || missing+=(docker.io)
have_sbin_tool debootstrap || missing+=(debootstrap)

if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "system-deps: missing Debian packages: ${missing[*]}" >&2
        echo "system-deps: install them as root with:" >&2
        echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive" \
            "apt-get install -y --no-install-recommends ${missing[*]}" >&2
        echo "system-deps: (or set REDIS_URL / DATABASE_URL to servers you already run)" >&2
        exit 0
    fi
    echo "system-deps: installing ${missing[*]}" >&2
    # Wait for a concurrent apt/dpkg run instead of failing on its lock.
    apt_opts=(-o DPkg::Lock::Timeout=600)
    apt-get "${apt_opts[@]}" update -q
    DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -q \
        --no-install-recommends "${missing[@]}"
fi

# initdb refuses to run as root, so scripts/services.py runs it as the `postgres` user, which
# the postgresql package creates. Make sure it exists even where the binaries came otherwise.
if ! id postgres >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]]; then
        echo "system-deps: creating the postgres system user" >&2
        useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
            --shell /bin/bash postgres
    else
        echo "system-deps: no 'postgres' user (only needed when running as root):" \
            "sudo useradd --system --user-group postgres" >&2
    fi
fi
