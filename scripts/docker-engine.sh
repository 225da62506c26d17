#!/usr/bin/env bash
# A private Docker engine for building and running Parley's image on this machine, and the
# offline base image it builds from. Idempotent; root only (dockerd and debootstrap need it).
#
#   scripts/docker-engine.sh up      start the daemon (if not running) and make the base image
#                                    (if missing); print `export DOCKER_HOST=...` on stdout
#   scripts/docker-engine.sh start   the daemon only (same output)
#   scripts/docker-engine.sh base    the base image only (the daemon must be running)
#   scripts/docker-engine.sh env     print `export DOCKER_HOST=...` (starts nothing)
#   scripts/docker-engine.sh mirror  print the Debian mirror the base image would come from
#   scripts/docker-engine.sh status  exit 0 when the daemon answers, 1 otherwise
#   scripts/docker-engine.sh stop    stop the daemon (images and build cache stay on disk)
#   scripts/docker-engine.sh purge   stop it and delete PARLEY_DOCKER_DIR (images, cache, base)
#
# Use it as:  eval "$(scripts/docker-engine.sh up)"
#             docker build --network host --build-arg BASE_IMAGE=parley-base:bookworm -t parley .
#
# The daemon is Debian's docker.io (`make system-deps` installs it), with its own socket, data
# root and exec root under PARLEY_DOCKER_DIR, so it never touches a system Docker. It creates no
# bridge and no iptables rules: builds and containers use `--network host`.
#
# The base image is made where no container registry can be reached: a debootstrap minbase of
# Debian bookworm with python3, python3-venv and ca-certificates, plus this machine's trust store
# (registries may only be reachable through a proxy whose certificate is in it), imported with
# PIP_CERT and SSL_CERT_FILE pointing at that store. It is a local build base, not for shipping.
#
# The mirror is the one this machine's apt already uses for bookworm: the first `deb` source for
# exactly that suite (not bookworm-security or -updates), as `apt-get indextargets` lists them.
# DEBIAN_MIRROR overrides it; no package host is written down here.
#
# Environment: PARLEY_DOCKER_DIR (default /var/tmp/parley-docker), PARLEY_BASE_IMAGE (default
# parley-base:bookworm), DEBIAN_MIRROR (default: the mirror of this machine's apt sources).
set -euo pipefail

DIR=${PARLEY_DOCKER_DIR:-/var/tmp/parley-docker}
BASE_IMAGE=${PARLEY_BASE_IMAGE:-parley-base:bookworm}
SUITE=bookworm
SOCKET="$DIR/docker.sock"
PIDFILE="$DIR/docker.pid"
TRUST_STORE=/etc/ssl/certs/ca-certificates.crt
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
export DOCKER_HOST="unix://$SOCKET"

log() { echo "docker-engine: $*" >&2; }
die() {
    log "$*"
    exit 1
}

# docker_cli: the engine's own client (Debian's, same version) before any other on PATH.
docker_cli() {
    if [[ -x /usr/bin/docker ]]; then
        /usr/bin/docker "$@"
    else
        docker "$@"
    fi
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (dockerd and debootstrap need it)"
}

require_command() {
    command -v "$1" >/dev/null 2>&1 ||
        die "$1 not found: install Debian's docker.io and debootstrap (make system-deps, as root)"
}

# apt_mirror SUITE: the URI of the first `deb` source for exactly SUITE that this machine's apt
# is configured with, as apt itself reads its sources (one-line and deb822 files alike).
apt_mirror() {
    # shellcheck disable=SC2016 # $(REPO_URI) is apt's placeholder, not the shell's
    apt-get indextargets --format '$(REPO_URI)' "Release: $1" 'Target-Of: deb' 2>/dev/null |
        grep -m 1 -E '^(https?|file):' || true
}

# mirror: DEBIAN_MIRROR, else the mirror of this machine's apt sources for SUITE, else a failure.
mirror() {
    if [[ -n ${DEBIAN_MIRROR:-} ]]; then
        echo "$DEBIAN_MIRROR"
        return 0
    fi
    local found
    found=$(apt_mirror "$SUITE")
    [[ -n $found ]] ||
        die "no \`deb\` source for $SUITE in this machine's apt sources" \
            "(apt-get indextargets): set DEBIAN_MIRROR to a Debian mirror URL"
    echo "$found"
}

daemon_up() {
    [[ -S $SOCKET ]] && docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1
}

print_env() {
    echo "export DOCKER_HOST=$DOCKER_HOST"
}

start() {
    require_root
    require_command dockerd
    mkdir -p "$DIR"
    # One starter at a time: concurrent test runs share the daemon.
    exec 9>"$DIR/start.lock"
    flock 9
    if daemon_up; then
        log "daemon already running ($DOCKER_HOST)"
    else
        log "starting dockerd ($DOCKER_HOST, log $DIR/dockerd.log)"
        rm -f "$SOCKET" "$PIDFILE"
        setsid dockerd \
            --host "$DOCKER_HOST" \
            --data-root "$DIR/data" \
            --exec-root "$DIR/exec" \
            --pidfile "$PIDFILE" \
            --bridge none --iptables=false --ip-masq=false \
            </dev/null >>"$DIR/dockerd.log" 2>&1 8>&- 9>&- &
        local waited=0
        until daemon_up; do
            if ((waited >= 60)); then
                tail -n 20 "$DIR/dockerd.log" >&2 || true
                die "dockerd did not answer within 30 s"
            fi
            sleep 0.5
            waited=$((waited + 1))
        done
        log "daemon ready"
    fi
    flock -u 9
    print_env
}

base() {
    require_root
    daemon_up || die "the daemon is not running: run '$0 start' first"
    exec 8>"$DIR/base.lock"
    flock 8
    if docker_cli image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        log "base image $BASE_IMAGE present"
        return 0
    fi
    require_command debootstrap
    [[ -r $TRUST_STORE ]] || die "no trust store at $TRUST_STORE (install ca-certificates)"
    [[ -r $KEYRING ]] || die "no Debian archive keyring at $KEYRING (install debian-archive-keyring)"
    local rootfs="$DIR/rootfs" from
    from=$(mirror)
    rm -rf "$rootfs"
    log "debootstrap $SUITE (minbase + python3, python3-venv, ca-certificates) from $from"
    if ! debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        --keyring="$KEYRING" "$SUITE" "$rootfs" "$from" >"$DIR/debootstrap.log" 2>&1; then
        tail -n 20 "$DIR/debootstrap.log" >&2 || true
        rm -rf "$rootfs"
        die "debootstrap failed (full log: $DIR/debootstrap.log)"
    fi
    cp "$TRUST_STORE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    # apt's downloaded packages and lists: `apt-get update` brings the lists back.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/lib/apt/lists/*
    log "importing $BASE_IMAGE"
    tar -C "$rootfs" --numeric-owner -c . | docker_cli import \
        --change "ENV LANG=C.UTF-8" \
        --change "ENV PIP_CERT=$TRUST_STORE" \
        --change "ENV SSL_CERT_FILE=$TRUST_STORE" \
        --change 'CMD ["python3"]' \
        - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    docker_cli run --rm --network none "$BASE_IMAGE" python3 -c 'import ensurepip, ssl, venv' ||
        die "$BASE_IMAGE was imported but cannot run python3 with venv and ssl"
    log "base image $BASE_IMAGE ready"
}

stop() {
    if [[ ! -f $PIDFILE ]]; then
        log "not running"
        return 0
    fi
    local pid
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping dockerd (pid $pid)"
        kill -TERM "$pid"
        local waited=0
        while kill -0 "$pid" 2>/dev/null; do
            if ((waited >= 60)); then
                die "dockerd (pid $pid) still running after 30 s"
            fi
            sleep 0.5
            waited=$((waited + 1))
        done
    fi
    rm -f "$PIDFILE" "$SOCKET"
    log "stopped"
}

purge() {
    require_root
    stop
    # dockerd leaves its network namespace file bind-mounted under the exec root.
    local mounts
    mounts=$(awk -v dir="$DIR/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r)
    for mount in $mounts; do
        umount "$mount"
    done
    rm -rf "$DIR"
    log "removed $DIR"
}

main() {
    case "${1:-up}" in
    up)
        start
        base
        ;;
    start) start ;;
    base) base ;;
    env) print_env ;;
    mirror) mirror ;;
    status) daemon_up ;;
    stop) stop ;;
    purge) purge ;;
    *)
        echo "usage: $0 [up|start|base|env|mirror|status|stop|purge]" >&2
        exit 2
        ;;
    esac
}

# Sourced (by a test, for its functions) it defines them and runs nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
