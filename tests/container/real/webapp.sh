# shellcheck shell=bash
# Sourced by run.sh: examples/webapp as one container, the way `docker run` users run it.
# Uses run.sh's helpers (d, check, ok, bad, wait_until, say) and its variables.

SETTINGS=webapp.settings:AppSettings
SECRET=s3cret-pw-$RANDOM$RANDOM
VOLUME=envconf-ct-data

# run_web NAME [docker run options...]: the app as the contract runs it, detached.
run_web() {
    local name=$1
    shift
    d run -d --name "$name" --label "$LABEL=1" --read-only --tmpfs /tmp --user 10001:10001 \
        -v "$SECRETS:/run/secrets:ro" -e APP_PROFILE=production -e DB_HOST=db.test \
        -e APP_DB__PASSWORD_FILE=/run/secrets/db_password "$@" "$APP_IMAGE" >/dev/null
}

# published_url NAME: where the host reaches the container's port 8000.
published_url() {
    local port
    port=$(d port "$1" 8000/tcp | grep -m1 -oE '127\.0\.0\.1:[0-9]+$') || return 1
    echo "http://$port"
}

# http_get URL: the body of a GET, or failure (from the host, bounded).
http_get() {
    python3 - "$1" <<'EOF'
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
    sys.stdout.write(response.read().decode())
EOF
}

# json_is FILE PYTHON_EXPR: the expression over `j` (the parsed file) is true.
json_is() {
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' \
        "$1" "$2" || {
        say "  expected $2 in: $(tr -d '\n' <"$1")"
        return 1
    }
}

# contains FILE TEXT / lacks FILE TEXT: with the file's text as evidence on failure.
contains() { grep -qF -- "$2" "$1" || { say "  no '$2' in $1:" && sed 's/^/    /' "$1" | tail -20 && return 1; }; }
lacks() { ! grep -qF -- "$2" "$1" || { say "  unexpected '$2' in $1:" && sed 's/^/    /' "$1" | tail -20 && return 1; }; }

# timed_stop NAME: `docker stop -t STOP_TIMEOUT`, leaving its duration in STOP_SECONDS.
timed_stop() {
    local t0
    t0=$(date +%s.%N)
    DT=$((STOP_TIMEOUT + 30)) d stop -t "$STOP_TIMEOUT" "$1" >/dev/null
    STOP_SECONDS=$(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 2))")
}

exit_code() { d inspect -f '{{.State.ExitCode}}' "$1"; }

healthy() { http_get "$1/healthz" >/dev/null; }

stop_is_fast() {
    local name=$1
    timed_stop "$name" || return 1
    local code
    code=$(exit_code "$name")
    say "  docker stop -t $STOP_TIMEOUT took ${STOP_SECONDS} s, exit code $code"
    # Well under the timeout, and 0 is the app's own status after it handled SIGTERM
    # (137 would be SIGKILL after the timeout, 143 a default SIGTERM death).
    python3 -c "import sys; sys.exit(0 if $STOP_SECONDS < $STOP_TIMEOUT / 3 else 1)" && [[ $code == 0 ]]
}

# The negative control: the same image behind a shell that does not exec. The shell is
# PID 1, which ignores SIGTERM, so `docker stop` must wait its whole timeout and kill.
control_takes_full_timeout() {
    d run -d --name envconf-ct-control --label "$LABEL=1" --read-only --tmpfs /tmp \
        --user 10001:10001 -v "$VOLUME:/data" --entrypoint sh "$APP_IMAGE" -c \
        "envconf render --template-dir /app/templates --output-dir /tmp --settings $SETTINGS -- python -m webapp; true" \
        >/dev/null || return 1
    wait_until 30 d exec envconf-ct-control python -c \
        'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8000/healthz", timeout=2)' || {
        say "  control never answered"
        return 1
    }
    timed_stop envconf-ct-control || return 1
    local code
    code=$(exit_code envconf-ct-control)
    say "  docker stop -t $STOP_TIMEOUT took ${STOP_SECONDS} s, exit code $code"
    python3 -c "import sys; sys.exit(0 if $STOP_SECONDS >= $STOP_TIMEOUT - 0.5 else 1)" && [[ $code == 137 ]]
}

rendered_in_container() {
    d exec envconf-ct-web cat /tmp/logging.yaml >"$LOGS/web-logging.yaml" || return 1
    local host
    host=$(d inspect -f '{{.Config.Hostname}}' envconf-ct-web)
    # The production profile's log level and the container's hostname reached the file.
    contains "$LOGS/web-logging.yaml" "level: WARNING" &&
        contains "$LOGS/web-logging.yaml" " $host %(levelname)s"
}

app_is_pid1() {
    local cmdline uid
    cmdline=$(d exec envconf-ct-web sh -c 'tr "\0" " " </proc/1/cmdline') || return 1
    # shellcheck disable=SC2016 # awk's own $2
    uid=$(d exec envconf-ct-web awk '/^Uid:/ {print $2}' /proc/1/status) || return 1
    say "  PID 1: '$cmdline' as uid $uid"
    # The image starts its Python app --in-process: PID 1 is the render's interpreter,
    # running the app, and no second process exists for it.
    local others
    others=$(d exec envconf-ct-web sh -c \
        'for p in /proc/[0-9]*; do [ "${p#/proc/}" = 1 ] && continue;
         tr "\0" " " <"$p/cmdline" 2>/dev/null | grep -q "m webap[p]" && echo "${p#/proc/}";
         done; true') \
        || return 1
    say "  other processes running webapp: '${others}'"
    [[ $cmdline == *"--in-process -- python -m webapp " && $uid == 10001 && -z $others ]]
}

root_is_read_only() {
    ! d exec envconf-ct-web sh -c 'touch /app/x' 2>/dev/null
}

http_answer() {
    http_get "$URL/" >"$LOGS/web-get.json" || return 1
    local host
    host=$(d inspect -f '{{.Config.Hostname}}' envconf-ct-web)
    json_is "$LOGS/web-get.json" "j['greeting'] == 'Hello from $host' and j['log_level'] == 'WARNING'
        and j['database']['host'] == 'db.test' and j['database']['password_set'] is True" &&
        lacks "$LOGS/web-get.json" "$SECRET"
}

visits_are() {
    http_get "$1/" >"$LOGS/web-visits.json" && json_is "$LOGS/web-visits.json" "j['visits'] == $2"
}

missing_variable_fails() {
    # APP_PROFILE=production requires DB_HOST (${DB_HOST:?...} in config/app.production.yaml).
    d run -d --name envconf-ct-missing --label "$LABEL=1" --read-only --tmpfs /tmp \
        --user 10001:10001 -v "$VOLUME:/data" -e APP_PROFILE=production "$APP_IMAGE" >/dev/null ||
        return 1
    local code
    code=$(DT=60 d wait envconf-ct-missing) || return 1
    d logs envconf-ct-missing >"$LOGS/missing.log" 2>&1
    say "  exit code $code: $(tr '\n' ' ' <"$LOGS/missing.log")"
    # envconf's own located message; nothing rendered, and the app (whose own errors
    # start with "webapp:") never ran.
    [[ $code == 1 ]] && contains "$LOGS/missing.log" "db.host: config/app.production.yaml:5 (file)" &&
        contains "$LOGS/missing.log" "DB_HOST" && lacks "$LOGS/missing.log" "webapp:" &&
        lacks "$LOGS/missing.log" "rendered"
}

# check_data_dir LOGNAME STATUS [docker run options...]: `envconf check` in the image.
envconf_check() {
    local log=$LOGS/$1 want=$2
    shift 2
    d run --rm --label "$LABEL=1" --user 10001:10001 --entrypoint envconf "$@" "$APP_IMAGE" \
        check "${CHECK_ARGS[@]}" --settings "$SETTINGS" >"$log" 2>&1
    local code=$?
    [[ $code == "$want" ]] || { say "  exit code $code, wanted $want:" && sed 's/^/    /' "$log"; }
    [[ $code == "$want" ]]
}

check_warns_without_volume() {
    CHECK_ARGS=()
    envconf_check check-novol.log 0 && contains "$LOGS/check-novol.log" \
        "envconf: warning: data_dir: data directory /data is not on a mounted volume"
}

check_strict_fails_without_volume() {
    CHECK_ARGS=(--strict)
    envconf_check check-novol-strict.log 1 && contains "$LOGS/check-novol-strict.log" \
        "envconf: error: data_dir: data directory /data is not on a mounted volume"
}

check_quiet_with_volume() {
    CHECK_ARGS=(--strict)
    envconf_check check-vol.log 0 --read-only -v "$VOLUME:/data" &&
        lacks "$LOGS/check-vol.log" "warning" && contains "$LOGS/check-vol.log" "ok: AppSettings is valid"
}

read_only_without_volume_refused() {
    CHECK_ARGS=()
    envconf_check check-ro.log 1 --read-only &&
        contains "$LOGS/check-ro.log" "data directory /data is not writable"
}

webapp_tests() {
    SECRETS=$WORK/secrets
    # World-traversable and readable: the app reads it as uid 10001.
    mkdir -p "$SECRETS" && chmod 755 "$SECRETS"
    printf '%s' "$SECRET" >"$SECRETS/db_password" && chmod 444 "$SECRETS/db_password"
    d volume create --label "$LABEL=1" "$VOLUME" >/dev/null

    if run_web envconf-ct-web -v "$VOLUME:/data" -p 127.0.0.1::8000 &&
        URL=$(published_url envconf-ct-web) && wait_until 30 healthy "$URL"; then
        ok "webapp starts read-only as uid 10001 and answers /healthz on $URL"
        check "GET / shows the env, the production profile and the secret file (not the secret)" \
            http_answer
        check "the template was rendered inside the container (/tmp/logging.yaml)" \
            rendered_in_container
        check "the app itself runs as PID 1, as uid 10001 (in the render's process)" app_is_pid1
        check "the root filesystem is read-only" root_is_read_only
        check "visits are counted in the data volume" visits_are "$URL" 2
        check "docker stop returns well under its timeout with the app's exit code 0" \
            stop_is_fast envconf-ct-web
    else
        d logs envconf-ct-web 2>&1 | tail -20
        bad "webapp starts read-only as uid 10001 and answers /healthz"
    fi

    d rm -f envconf-ct-web >/dev/null 2>&1
    if run_web envconf-ct-web2 -v "$VOLUME:/data" -p 127.0.0.1::8000 &&
        URL=$(published_url envconf-ct-web2) && wait_until 30 healthy "$URL"; then
        check "data in the named volume survives docker rm and a new container" \
            visits_are "$URL" 3
    else
        bad "data in the named volume survives docker rm and a new container (no second app)"
    fi
    d rm -f envconf-ct-web2 >/dev/null 2>&1

    check "a missing required variable: exit 1, the located message, no app start" \
        missing_variable_fails
    check "negative control: a shell that does not exec takes the full stop timeout" \
        control_takes_full_timeout
    check "envconf check warns when the data dir is not on a volume" check_warns_without_volume
    check "envconf check --strict fails when the data dir is not on a volume" \
        check_strict_fails_without_volume
    check "envconf check --strict is quiet with the named volume at the data dir" \
        check_quiet_with_volume
    check "on a read-only root without the volume, the data dir is refused" \
        read_only_without_volume_refused
}
