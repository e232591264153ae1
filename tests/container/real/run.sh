#!/usr/bin/env bash
# `make test-container`: the examples in a real Docker engine and a real single-node Swarm
# (contract section 4, issue 5).
#
#   engine   use the one that answers; else, as root, install Debian's docker.io and start
#            a private dockerd (own socket, data root and log under a temp dir), stopped
#            again by its PID on exit
#   image    debootstrap a bookworm minbase with python3 + python3-venv (and a copy with
#            Debian's nginx), `docker import` them; the tarballs are cached in
#            $IMAGE_CACHE. Without root or debootstrap (a laptop), pull python:3.11-slim-
#            bookworm and nginx:1.27 instead. Wheels are built on the host, so
#            `docker build` needs no network
#   webapp   read-only, tmpfs /tmp, uid 10001, secrets bind-mounted: rendered config,
#            HTTP answer, missing variable, SIGTERM as PID 1 (+ a negative control that
#            must take the whole stop timeout), data volume, `envconf check` without it
#   watch    `envconf render --watch` as PID 1 with live_app.py (re-reads on SIGHUP): a
#            template changed on the host through a bind mount changes the HTTP answer
#            without a restart (one SIGHUP, same PID, RestartCount 0, same StartedAt)
#   swarm    both stacks of examples/swarm plus swarm-override-*.yaml (dnsrr): replicas,
#            configs and secrets rendered in the tasks, the client stack reaches the app
#            over the external overlay network, scaling renders the new replicas too
#
# Every wait is bounded, and so is the whole run (ENVCONF_CT_TIMEOUT, default 1800 s; the
# step running when it strikes is itself bounded and ends first).
# Everything started is removed on exit, failure included. With no engine to be had
# the run skips with the reason, unless CI=true, where that is a failure.
# The last line is "N passed, M failed[, K skipped]"; the exit status is 1 on any failure.
#
# What this sandbox allows (tried by hand on the CI machine kind: Firecracker VM, kernel
# 6.18 with no loadable modules, Debian 12, docker.io 20.10.24, containerd 1.6, runc 1.1):
# - storage: overlay2 works (overlay is built in, ext4 with d_type); vfs is used only
#   where the data root itself sits on an overlay (docker-in-docker) or overlay is missing.
# - cgroups: v1 hierarchies plus an empty v2 "unified" mount; dockerd's cgroupfs driver
#   works without systemd. "no cgroup blkio weight" is only a warning.
# - iptables: Debian's iptables-nft against the built-in nf_tables works; the docker0
#   bridge, veth pairs, NAT and ports published on 127.0.0.1 all work, so dockerd runs
#   with its defaults. (A harmless "default_pvid: permission denied" is logged for br0.)
# - Swarm: `swarm init --advertise-addr 127.0.0.1` works; overlay networks work (VXLAN is
#   built in), also between two stacks on an attachable external network. IPVS is not
#   built in (no /proc/sys/net/ipv4/vs): VIP endpoints and the ingress routing mesh cannot
#   work, hence endpoint_mode: dnsrr and host-mode ports in swarm-override-*.yaml. (Tried:
#   a VIP service answers "No route to host" on its VIP, an ingress port never answers,
#   and dockerd logs "Could not get ipvs family information from the kernel".)
# - No image registry answers (lookups fail at once): no image can be pulled, so the
#   Dockerfile's `# syntax=` line (a frontend image) is dropped from the build copy,
#   `stack deploy` runs with --resolve-image never, and nginx comes from Debian.
# - BuildKit is built into dockerd 20.10: DOCKER_BUILDKIT=1 with Debian's 20.10 client
#   works without buildx; /usr/local/bin/docker (28.x) here is a client only.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
IMAGE_CACHE=${IMAGE_CACHE:-$HOME/.cache/envconf/images}
LIMIT=${ENVCONF_CT_TIMEOUT:-1800}
SUITE=bookworm
BASE_IMAGE=envconf-base:$SUITE
NGINX_IMAGE=envconf-test/nginx:$SUITE
APP_IMAGE=envconf-example/webapp:latest
# Bump when the debootstrap recipe changes, so a stale cached tarball is not reused.
RECIPE=v1
LABEL=envconf-ct
STOP_TIMEOUT=10
export DOCKER_BUILDKIT=1
# The host's envconf and pip: the Makefile's virtualenv, else what is on PATH.
HOST_PYTHON=$ROOT/.venv/bin/python
[[ -x $HOST_PYTHON ]] || HOST_PYTHON=$(command -v python3)
ENVCONF=$ROOT/.venv/bin/envconf
[[ -x $ENVCONF ]] || ENVCONF=$(command -v envconf || echo envconf)

PASSED=0
FAILED=0
SKIPPED=0
START=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/envconf-ct.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS"
OWN_DOCKERD_PID=
OWN_SWARM=0
SWARM_USED=0
WATCHDOG=

# The original stdout and stderr, for the traps (see cleanup).
exec 3>&1 4>&2
say() { printf '%s\n' "$*"; }
ok() { PASSED=$((PASSED + 1)); say "PASS: $*"; }
bad() { FAILED=$((FAILED + 1)); say "FAIL: $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); say "SKIP: $*"; }
step() { say "--- $* ($((SECONDS - START)) s)"; }

# check NAME CMD...: one test; CMD prints its own evidence on failure.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# wait_until SECONDS CMD...: poll CMD once a second; false when time runs out.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS >= deadline)) && return 1
        sleep 1
    done
}

# d ARGS...: the docker client, never hanging longer than DT seconds (default 120).
d() { timeout "${DT:-120}" "$DOCKER" "$@"; }

summary() {
    local line="$PASSED passed, $FAILED failed"
    ((SKIPPED)) && line+=", $SKIPPED skipped"
    say "test-container: $((SECONDS - START)) s"
    say "$line"
}

# give_up REASON: no engine or no base image. A skip on a laptop, a failure in CI.
give_up() {
    if [[ ${CI:-} == true ]]; then
        bad "$1"
    else
        skip "$1"
    fi
    exit $((FAILED > 0))
}

# --- cleanup -------------------------------------------------------------------------

stop_own_dockerd() {
    [[ -n $OWN_DOCKERD_PID ]] || return 0
    step "stopping dockerd (pid $OWN_DOCKERD_PID)"
    kill -TERM "$OWN_DOCKERD_PID" 2>/dev/null
    local deadline=$((SECONDS + 30))
    while kill -0 "$OWN_DOCKERD_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
    if kill -0 "$OWN_DOCKERD_PID" 2>/dev/null; then
        say "dockerd did not stop in 30 s: killing it"
        kill -KILL "$OWN_DOCKERD_PID" 2>/dev/null
    fi
    # dockerd starts its own containerd; it normally stops it, but not when killed.
    local pidfile=$ENGINE/exec/containerd/containerd.pid
    if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        kill -TERM "$(cat "$pidfile")" 2>/dev/null
    fi
    say "dockerd stopped after $((SECONDS - deadline + 30)) s"
    OWN_DOCKERD_PID=
    # Layers stay mounted if dockerd died hard; unmount before removing the data root.
    local mounts
    mounts=$(awk -v root="$ENGINE/" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r)
    [[ -z $mounts ]] || xargs -r -n1 umount -l <<<"$mounts" 2>/dev/null
    rm -rf "$ENGINE"
    # The Swarm's bridge and VXLAN devices outlive dockerd; docker0 is left, as always.
    if ((SWARM_USED)) && ! pgrep -x dockerd >/dev/null; then
        local link
        for link in $(ip -o link show 2>/dev/null | grep -oE ' (vx-[0-9a-f]{6}-[0-9a-z]+|docker_gwbridge)[:@]' | tr -d ' :@'); do
            ip link delete "$link" 2>/dev/null
        done
    fi
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    # A trap can fire inside a redirected command: report to the original outputs.
    exec 1>&3 2>&4
    [[ -n $WATCHDOG ]] && kill "$WATCHDOG" 2>/dev/null
    if [[ -n ${DOCKER:-} ]] && DT=20 d info >/dev/null 2>&1; then
        step "cleaning up"
        if ((OWN_SWARM)); then
            DT=60 d stack rm client webapp >/dev/null 2>&1
            wait_until 60 no_stack_containers
            DT=30 d network rm envconf-shared >/dev/null 2>&1
            DT=30 d secret rm db_password >/dev/null 2>&1
            DT=60 d swarm leave --force >/dev/null 2>&1
        fi
        local ids
        mapfile -t ids < <(DT=30 d ps -aq --filter "label=$LABEL")
        ((${#ids[@]} == 0)) || DT=60 d rm -f -v "${ids[@]}" >/dev/null 2>&1
        mapfile -t ids < <(DT=30 d volume ls -q --filter "label=$LABEL")
        ((${#ids[@]} == 0)) || DT=60 d volume rm -f "${ids[@]}" >/dev/null 2>&1
        ((SWARM_USED)) && DT=30 d volume rm -f webapp_webapp-data >/dev/null 2>&1
    fi
    stop_own_dockerd
    if ((FAILED)) || ((status)); then
        say "logs kept in $LOGS"
        find "$WORK" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
    else
        rm -rf "$WORK"
    fi
    summary
    ((FAILED)) && exit 1
    exit "$status"
}
trap cleanup EXIT
trap 'exec 1>&3 2>&4; say "interrupted"; FAILED=$((FAILED + 1)); exit 1' INT TERM

no_stack_containers() {
    [[ -z $(DT=20 d ps -q --filter label=com.docker.stack.namespace) ]]
}

# The whole run is bounded: the watchdog interrupts it, and the trap cleans up.
(
    trap 'kill $s 2>/dev/null; exit 0' TERM
    sleep "$LIMIT" &
    s=$!
    wait $s && say "time limit of $LIMIT s reached" && kill -TERM $$
) &
WATCHDOG=$!

# --- engine --------------------------------------------------------------------------

pick_client() {
    if [[ -x /usr/bin/docker ]]; then
        DOCKER=/usr/bin/docker
    else
        DOCKER=$(command -v docker || true)
    fi
}

engine_answers() { [[ -n ${DOCKER:-} ]] && DT=20 d info >/dev/null 2>&1; }

# The storage driver this data root can use (see the findings at the top).
storage_driver() {
    if grep -qw overlay /proc/filesystems && [[ $(stat -f -c %T "$1") != overlayfs ]]; then
        echo overlay2
    else
        echo vfs
    fi
}

start_own_dockerd() {
    if [[ ! -x /usr/sbin/dockerd || ! -x /usr/bin/docker ]] || ! command -v debootstrap >/dev/null \
        || ! command -v iptables >/dev/null; then
        step "installing Debian's docker.io, debootstrap and iptables"
        if ! { timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 \
            apt-get install -y -qq --no-install-recommends docker.io debootstrap iptables \
            ca-certificates; } >"$LOGS/apt.log" 2>&1; then
            tail -20 "$LOGS/apt.log"
            give_up "no Docker engine: apt-get install docker.io failed (log above)"
        fi
    fi
    pick_client
    ENGINE=$WORK/engine
    mkdir -p "$ENGINE"
    local driver
    driver=$(storage_driver "$ENGINE")
    step "starting dockerd (storage driver $driver, log $LOGS/dockerd.log)"
    # shellcheck disable=SC2086 # ENVCONF_DOCKERD_FLAGS is a list of flags
    /usr/sbin/dockerd --data-root "$ENGINE/data" --exec-root "$ENGINE/exec" \
        --host "unix://$ENGINE/docker.sock" --pidfile "$ENGINE/dockerd.pid" \
        --storage-driver "$driver" ${ENVCONF_DOCKERD_FLAGS:-} >"$LOGS/dockerd.log" 2>&1 &
    OWN_DOCKERD_PID=$!
    export DOCKER_HOST=unix://$ENGINE/docker.sock
    if ! wait_until 60 engine_answers; then
        tail -20 "$LOGS/dockerd.log"
        give_up "dockerd did not answer within 60 s (log above)"
    fi
}

step "engine"
pick_client
if engine_answers; then
    say "using the running engine ($DOCKER, ${DOCKER_HOST:-default socket})"
elif [[ $(id -u) -ne 0 ]]; then
    give_up "no Docker engine answers and only root can start one here"
elif ! command -v apt-get >/dev/null; then
    give_up "no Docker engine answers and this is not a Debian-like system to install one"
else
    start_own_dockerd
fi
say "engine: $(DT=20 d version -f 'server {{.Server.Version}}, client {{.Client.Version}}')"

# --- base images ---------------------------------------------------------------------

# The Debian mirror apt already uses (debootstrap must use the same reachable one).
mirror() {
    local url
    url=$(grep -rhoE '^(deb|URIs:)[[:space:]]+https?://[^[:space:]]+' /etc/apt/sources.list \
        /etc/apt/sources.list.d/ 2>/dev/null | awk '{print $2}' | grep -v -e security -e '\.com' \
        | grep -m1 -E '/debian/?$')
    echo "${url:-http://deb.debian.org/debian}"
}

# A Debian root filesystem without the package caches and docs an image does not need.
trim_rootfs() {
    rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/* \
        "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/* "$1"/var/log/*.log
    # Docker provides these at run time.
    : >"$1/etc/resolv.conf"
    : >"$1/etc/hostname"
}

# nginx from Debian in a copy of the base root, set up like the official image: only
# conf.d, logs to stdout/stderr. Stands in for nginx:1.27, which cannot be pulled here.
nginx_rootfs() {
    local base=$1 dir=$2
    cp -a "$base" "$dir"
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 755 "$dir/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    DEBIAN_FRONTEND=noninteractive timeout 600 chroot "$dir" \
        apt-get install -y -qq --no-install-recommends nginx >"$LOGS/nginx-apt.log" 2>&1 || return 1
    rm -f "$dir/usr/sbin/policy-rc.d" "$dir"/etc/nginx/sites-enabled/*
    ln -sf /dev/stdout "$dir/var/log/nginx/access.log"
    ln -sf /dev/stderr "$dir/var/log/nginx/error.log"
}

build_base_tarballs() {
    local rootfs=$WORK/rootfs url
    url=$(mirror)
    step "debootstrap $SUITE from $url (log $LOGS/debootstrap.log)"
    timeout 900 debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" \
        "$rootfs" "$url" >"$LOGS/debootstrap.log" 2>&1 || {
        tail -20 "$LOGS/debootstrap.log"
        return 1
    }
    step "nginx root filesystem"
    nginx_rootfs "$rootfs" "$WORK/nginxfs" || {
        tail -20 "$LOGS/nginx-apt.log"
        return 1
    }
    trim_rootfs "$rootfs"
    trim_rootfs "$WORK/nginxfs"
    mkdir -p "$IMAGE_CACHE"
    # Written under a temporary name and renamed: a cut-off run leaves no half tarball.
    tar --numeric-owner -C "$rootfs" -c . | gzip -1 >"$BASE_TAR.part" &&
        mv "$BASE_TAR.part" "$BASE_TAR" &&
        tar --numeric-owner -C "$WORK/nginxfs" -c . | gzip -1 >"$NGINX_TAR.part" &&
        mv "$NGINX_TAR.part" "$NGINX_TAR"
    local status=$?
    rm -rf "$rootfs" "$WORK/nginxfs"
    return $status
}

# Where debootstrap cannot run (a laptop without root or Debian), an engine that can pull
# gives the same bases: Debian bookworm's Python 3.11 and the official nginx image.
bases_from_registry() {
    say "no debootstrap here: pulling python:3.11-slim-bookworm and nginx:1.27 instead"
    DT=600 d pull -q python:3.11-slim-bookworm >/dev/null && DT=600 d pull -q nginx:1.27 >/dev/null &&
        d tag python:3.11-slim-bookworm "$BASE_IMAGE" && d tag nginx:1.27 "$NGINX_IMAGE"
}

step "base images"
BASE_TAR=$IMAGE_CACHE/envconf-base-$SUITE-$RECIPE.tar.gz
NGINX_TAR=$IMAGE_CACHE/envconf-nginx-$SUITE-$RECIPE.tar.gz
if [[ -s $BASE_TAR && -s $NGINX_TAR ]]; then
    say "cached: $BASE_TAR"
elif [[ $(id -u) -ne 0 ]] || ! command -v debootstrap >/dev/null; then
    bases_from_registry ||
        give_up "no base image: $BASE_TAR is not cached, building it needs root and debootstrap, and no registry answers"
elif ! build_base_tarballs; then
    bad "debootstrap the base image tarballs (log above)"
    exit 1
fi
if [[ -s $BASE_TAR && -s $NGINX_TAR ]] && {
    ! DT=300 d import --change 'CMD ["python3"]' "$BASE_TAR" "$BASE_IMAGE" >/dev/null ||
        ! DT=300 d import --change 'CMD ["nginx", "-g", "daemon off;"]' --change 'EXPOSE 80' \
            "$NGINX_TAR" "$NGINX_IMAGE" >/dev/null
}; then
    bad "docker import of the cached base tarballs"
    exit 1
fi

# --- the webapp image ----------------------------------------------------------------

# The build context is a copy: the example stays untouched, and wheels go in the copy.
webapp_context() {
    local ctx=$WORK/webapp
    cp -a "$ROOT/examples/webapp" "$ctx"
    rm -rf "$ctx/wheelhouse" && mkdir "$ctx/wheelhouse"
    # A `# syntax=` line makes BuildKit pull a frontend image: impossible without a
    # registry, and nothing in the Dockerfile needs more than the built-in frontend.
    if grep -q '^# *syntax=' "$ctx/Dockerfile"; then
        say "note: dropping the Dockerfile's '# syntax=' line in the build copy (no registry)"
        sed -i '/^# *syntax=/d' "$ctx/Dockerfile"
    fi
    # A VOLUME line gives every container an anonymous volume at the data dir, so a
    # container run without the named volume looks fine to `envconf check` (which is
    # what the test of its warning needs to see) and loses its data on `docker rm -v`.
    if grep -q '^VOLUME' "$ctx/Dockerfile"; then
        say "note: dropping the Dockerfile's VOLUME line in the build copy (hides a missing volume)"
        sed -i '/^VOLUME/d' "$ctx/Dockerfile"
    fi
    step "wheels (log $LOGS/wheels.log)"
    local py_tag
    py_tag=$(DT=60 d run --rm "$BASE_IMAGE" python3 -c \
        'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")') || return 1
    # envconf itself, then its dependencies as binary wheels for the image's Python
    # (which may differ from the host's) and this machine's architecture.
    {
        timeout 300 "$HOST_PYTHON" -m pip wheel --no-deps -q -w "$ctx/wheelhouse" "$ROOT" &&
            timeout 300 "$HOST_PYTHON" -m pip download -q --only-binary=:all: \
                --python-version "$py_tag" --implementation cp \
                --platform "manylinux2014_$(uname -m)" --platform "manylinux_2_28_$(uname -m)" \
                -d "$ctx/wheelhouse" "$ctx"/wheelhouse/envconf-*.whl
    } >"$LOGS/wheels.log" 2>&1 || {
        tail -20 "$LOGS/wheels.log"
        return 1
    }
    find "$ctx/wheelhouse" -name '*.whl' -printf '  %f\n' | sort
}

step "webapp image"
if ! webapp_context; then
    bad "build context for examples/webapp (wheels)"
    exit 1
fi
if DT=900 d build --progress=plain --build-arg "BASE=$BASE_IMAGE" -t "$APP_IMAGE" \
    "$WORK/webapp" >"$LOGS/build-webapp.log" 2>&1; then
    ok "examples/webapp builds with BuildKit from the host's wheels (no network)"
else
    tail -30 "$LOGS/build-webapp.log"
    bad "examples/webapp builds with BuildKit from the host's wheels (no network)"
    exit 1
fi

# shellcheck source=webapp.sh
source "$HERE/webapp.sh"
# shellcheck source=watch.sh
source "$HERE/watch.sh"
# shellcheck source=swarm.sh
source "$HERE/swarm.sh"

step "webapp container"
webapp_tests
step "live configuration (--watch)"
watch_tests
step "swarm"
swarm_tests
