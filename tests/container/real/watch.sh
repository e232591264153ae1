# shellcheck shell=bash
# Sourced by run.sh: live configuration (issue 8). A container started with
# `envconf render --watch`, its template changed on the host through a bind-mounted
# directory, and the app's HTTP answer changes without a restart.
# Uses run.sh's helpers and webapp.sh's (http_get, published_url, json_is, timed_stop).
#
# examples/webapp has no SIGHUP handler (SIGHUP would end it), so the app here is
# live_app.py, mounted read-only: it reads the rendered file at start and again only on
# SIGHUP, so a changed answer proves both the re-render and the signal.

LIVE=envconf-ct-live
LIVE_POLL=0.5
# How long a change may take to show: poll interval + debounce + render, with margin.
LIVE_WAIT=20

# live_template TEXT: (re)write the template on the host the way editors and the kubelet
# do: a new file renamed over the old one (a new inode in the bind-mounted directory).
live_template() {
    printf '%s\n' "revision: $1" 'host: {{ env.LIVE_HOST }}' >"$LIVE_TPL/.greeting.txt.j2.new" &&
        chmod 644 "$LIVE_TPL/.greeting.txt.j2.new" &&
        mv -f "$LIVE_TPL/.greeting.txt.j2.new" "$LIVE_TPL/greeting.txt.j2"
}

# live_get: the app's answer, saved in $LOGS/live.json.
live_get() { http_get "$LIVE_URL/" >"$LOGS/live.json"; }

# live_field EXPR: a Python expression over `j`, the last answer.
live_field() {
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$LOGS/live.json" "$1"
}

live_shows() { live_get && json_is "$LOGS/live.json" "j['content'].rstrip() == '''$1'''" >/dev/null; }

live_state() { d inspect -f '{{.State.StartedAt}} {{.RestartCount}} {{.State.Pid}}' "$LIVE"; }

# Started with --watch: envconf stays PID 1 and the app is its child, serving the first render.
live_started() {
    local cmdline
    cmdline=$(d exec "$LIVE" sh -c 'tr "\0" " " </proc/1/cmdline') || return 1
    say "  PID 1: '$cmdline'"
    live_get || return 1
    say "  answer: $(cat "$LOGS/live.json")"
    d logs "$LIVE" >"$LOGS/live.log" 2>&1
    grep -F -e "rendered" -e "watching" "$LOGS/live.log" | sed 's/^/  /'
    [[ $cmdline == *"envconf render --watch"* ]] &&
        json_is "$LOGS/live.json" "j['content'].rstrip() == '''$LIVE_V1''' and j['reloads'] == 0
            and j['ppid'] == 1 and j['pid'] != 1" &&
        contains "$LOGS/live.log" "watching"
}

live_reloads_without_restart() {
    local state_before state_after pid_before pid_after t0 waited
    state_before=$(live_state) || return 1
    pid_before=$(live_field "j['pid']") || return 1
    t0=$SECONDS
    live_template v2 || return 1
    if ! wait_until "$LIVE_WAIT" live_shows "$LIVE_V2"; then
        say "  no new answer in $LIVE_WAIT s: $(cat "$LOGS/live.json" 2>/dev/null)"
        d logs "$LIVE" 2>&1 | tail -10 | sed 's/^/    /'
        return 1
    fi
    waited=$((SECONDS - t0))
    # A moment for a second (wrong) reload to show, then the final answer and state.
    sleep 2
    live_get || return 1
    pid_after=$(live_field "j['pid']") || return 1
    state_after=$(live_state) || return 1
    say "  answer after ${waited} s: $(cat "$LOGS/live.json")"
    say "  StartedAt RestartCount Pid: before '$state_before', after '$state_after'"
    d logs "$LIVE" >"$LOGS/live.log" 2>&1
    grep -F "change in" "$LOGS/live.log" | sed 's/^/  /'
    # Same container start, no restart, same app process, exactly one SIGHUP, and
    # envconf said what it rewrote and that it signalled.
    [[ $state_after == "$state_before" && $state_after == *" 0 "* && $pid_after == "$pid_before" ]] &&
        json_is "$LOGS/live.json" "j['content'].rstrip() == '''$LIVE_V2''' and j['reloads'] == 1" &&
        contains "$LOGS/live.log" "rewrote /tmp/greeting.txt; sent SIGHUP to the app"
}

# docker stop still reaches the app through envconf as PID 1, and its status passes through.
live_stops() {
    timed_stop "$LIVE" || return 1
    local code
    code=$(exit_code "$LIVE")
    say "  docker stop -t $STOP_TIMEOUT took ${STOP_SECONDS} s, exit code $code"
    python3 -c "import sys; sys.exit(0 if $STOP_SECONDS < $STOP_TIMEOUT / 3 else 1)" &&
        [[ $code == 0 ]]
}

watch_tests() {
    LIVE_TPL=$WORK/live-templates
    LIVE_APP=$WORK/live-app
    LIVE_V1=$'revision: v1\nhost: live.test'
    LIVE_V2=$'revision: v2\nhost: live.test'
    # Readable by uid 10001 (the mounts' own modes count, not their host parents').
    mkdir -p "$LIVE_TPL" "$LIVE_APP" && chmod 755 "$LIVE_TPL" "$LIVE_APP"
    install -m 644 "$HERE/live_app.py" "$LIVE_APP/live_app.py"
    live_template v1 || {
        bad "--watch: the template on the host"
        return
    }
    if d run -d --name "$LIVE" --label "$LABEL=1" --read-only --tmpfs /tmp --user 10001:10001 \
        -v "$LIVE_TPL:/etc/app/live:ro" -v "$LIVE_APP:/opt/live:ro" -e LIVE_HOST=live.test \
        -p 127.0.0.1::8000 --entrypoint envconf "$APP_IMAGE" \
        render --watch --poll-interval "$LIVE_POLL" --template-dir /etc/app/live \
        --output-dir /tmp -- python /opt/live/live_app.py /tmp/greeting.txt 8000 >/dev/null &&
        LIVE_URL=$(published_url "$LIVE") && wait_until 30 live_get; then
        check "--watch: envconf stays PID 1, the app is its child and serves the first render" \
            live_started
        check "--watch: a template changed on the host (bind mount) changes the app's answer without a restart (one SIGHUP, same PID, RestartCount 0, same StartedAt)" \
            live_reloads_without_restart
        check "--watch: docker stop reaches the app through envconf, exit code 0, well under the timeout" \
            live_stops
    else
        d logs "$LIVE" 2>&1 | tail -20
        bad "--watch: the container starts and the app answers"
    fi
    d rm -f "$LIVE" >/dev/null 2>&1
}
