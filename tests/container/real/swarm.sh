# shellcheck shell=bash disable=SC2034 # OWN_SWARM and SWARM_USED are run.sh's
# Sourced by run.sh: both stacks of examples/swarm on a single-node Swarm of our own.
# Uses run.sh's helpers and webapp.sh's (contains, json_is, http_get, SECRET).

APP_SERVICE=webapp_webapp
PROXY_SERVICE=webapp_proxy
PROBE_SERVICE=client_probe

# tasks SERVICE: the IDs of the service's running containers on this node.
tasks() {
    DT=30 d ps -q --filter "label=com.docker.swarm.service.name=$1" --filter status=running
}

# replicas_are SERVICE N: N tasks running and no more.
replicas_are() {
    [[ $(DT=30 d service ls --filter "name=$1" --format '{{.Name}} {{.Replicas}}') == "$1 $2/$2" ]] &&
        (($(tasks "$1" | wc -l) == $2))
}

# task_get CONTAINER PATH: a GET to the app from inside its task (the image has no curl).
task_get() {
    DT=30 d exec "$1" python -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:8000" + sys.argv[1], timeout=5).read().decode())' "$2"
}

# task_rendered CONTAINER: the Swarm config and secret reached the task and were used.
task_rendered() {
    local c=$1 slot host log=$LOGS/task-$1
    slot=$(DT=30 d inspect -f '{{index .Config.Labels "com.docker.swarm.task.name"}}' "$c" |
        cut -d. -f2)
    host=$(DT=30 d inspect -f '{{.Config.Hostname}}' "$c")
    wait_until 60 task_get "$c" /healthz || {
        say "  task $slot ($c) never answered /healthz"
        return 1
    }
    DT=30 d exec "$c" cat /tmp/logging.yaml >"$log.logging.yaml" &&
        DT=30 d exec "$c" cat /etc/webapp/app.swarm.yaml >"$log.config.yaml" &&
        DT=30 d exec "$c" cat /run/secrets/db_password >"$log.secret" &&
        task_get "$c" / >"$log.json" || return 1
    say "  task $slot ($c): $(tr -d '\n' <"$log.json" | tr -s ' ')"
    # app.swarm.yaml sets log_level INFO (the image's production profile says WARNING):
    # the template rendered in the task used the Swarm config.
    contains "$log.logging.yaml" "level: INFO" &&
        contains "$log.config.yaml" "Hello from Swarm task" &&
        [[ $(cat "$log.secret") == "$SECRET" ]] &&
        json_is "$log.json" "j['greeting'] == 'Hello from Swarm task $slot on $host'
            and j['log_level'] == 'INFO' and j['database']['password_set'] is True"
}

all_tasks_rendered() {
    local c status=0
    for c in $(tasks "$APP_SERVICE"); do task_rendered "$c" || status=1; done
    return $status
}

probe_got_200() {
    local c
    c=$(tasks "$PROBE_SERVICE" | head -1)
    [[ -n $c ]] && DT=30 d logs "$c" 2>&1 | grep -q -- '-> 200 .*Hello from Swarm task'
}

probe_reaches_app() {
    if wait_until 120 probe_got_200; then
        say "  $(DT=30 d logs "$(tasks "$PROBE_SERVICE" | head -1)" 2>&1 | grep -m1 -- '-> 200' | cut -c1-160)"
        return 0
    fi
    say "  the probe's log:"
    DT=30 d service logs --raw "$PROBE_SERVICE" 2>&1 | tail -10 | sed 's/^/    /'
    return 1
}

proxy_forwards() {
    wait_until 60 http_get http://127.0.0.1:8080/ || {
        say "  nothing answered on 127.0.0.1:8080:"
        DT=30 d service ps --no-trunc "$PROXY_SERVICE" 2>&1 | tail -5 | sed 's/^/    /'
        return 1
    }
    http_get http://127.0.0.1:8080/ >"$LOGS/proxy.json" &&
        json_is "$LOGS/proxy.json" "j['greeting'].startswith('Hello from Swarm task')"
}

new_replica_renders() {
    local before after c new=
    before=$(tasks "$APP_SERVICE" | sort)
    DT=60 d service scale --detach "$APP_SERVICE=3" >/dev/null || return 1
    wait_until 120 replicas_are "$APP_SERVICE" 3 || {
        DT=30 d service ps --no-trunc "$APP_SERVICE" 2>&1 | tail -5 | sed 's/^/    /'
        return 1
    }
    after=$(tasks "$APP_SERVICE" | sort)
    for c in $after; do grep -qx "$c" <<<"$before" || new=$c; done
    [[ -n $new ]] && task_rendered "$new"
}

render_proxy_conf() {
    (cd "$STACKS" && env -u UPSTREAM -u LISTEN_PORT -u SERVER_NAME "$ENVCONF" \
        render -t ../nginx-proxy/templates/default.conf.template:proxy.conf) \
        >"$LOGS/proxy-conf.log" 2>&1 || {
        sed 's/^/    /' "$LOGS/proxy-conf.log"
        return 1
    }
    contains "$STACKS/proxy.conf" "server webapp:8000;" && contains "$STACKS/proxy.conf" "listen      8080;"
}

deploy() {
    local stack=$1 file=$2 override=$3
    DT=120 d stack deploy --resolve-image never -c "$STACKS/$file" -c "$HERE/$override" "$stack" \
        >"$LOGS/deploy-$stack.log" 2>&1 || {
        sed 's/^/    /' "$LOGS/deploy-$stack.log"
        return 1
    }
}

wait_replicas() {
    local service=$1 n=$2
    wait_until 180 replicas_are "$service" "$n" || {
        say "  $service did not reach $n/$n:"
        DT=30 d service ps --no-trunc "$service" 2>&1 | tail -6 | sed 's/^/    /'
        return 1
    }
}

swarm_down() {
    DT=60 d stack rm client webapp >/dev/null &&
        wait_until 90 no_stack_containers &&
        wait_until 30 d network rm envconf-shared &&
        DT=30 d secret rm db_password >/dev/null &&
        DT=60 d swarm leave --force >/dev/null && OWN_SWARM=0
}

swarm_tests() {
    local state
    state=$(DT=30 d info -f '{{.Swarm.LocalNodeState}}')
    if [[ $state != inactive ]]; then
        skip "swarm: this engine's swarm state is '$state'; only a fresh engine is used"
        return
    fi
    if ! DT=60 d swarm init --advertise-addr 127.0.0.1 >"$LOGS/swarm-init.log" 2>&1; then
        sed 's/^/    /' "$LOGS/swarm-init.log"
        bad "docker swarm init --advertise-addr 127.0.0.1"
        return
    fi
    OWN_SWARM=1
    SWARM_USED=1
    ok "docker swarm init --advertise-addr 127.0.0.1"
    if ! DT=60 d network create -d overlay --attachable envconf-shared >"$LOGS/overlay.log" 2>&1; then
        sed 's/^/    /' "$LOGS/overlay.log"
        skip "swarm stacks: no overlay network here (docker network create -d overlay failed, above)"
        return
    fi
    printf '%s' "$SECRET" | DT=30 d secret create db_password - >/dev/null

    # The stacks' directory is a copy, where proxy.conf is rendered the way the example's
    # README does it before a deploy (envconf's envsubst engine, default upstream).
    mkdir -p "$WORK/examples"
    cp -a "$ROOT/examples/swarm" "$ROOT/examples/nginx-proxy" "$WORK/examples/"
    STACKS=$WORK/examples/swarm
    check "proxy.conf renders from the nginx-proxy template as the README says" render_proxy_conf

    if deploy webapp stack-app.yaml swarm-override-app.yaml &&
        wait_replicas "$APP_SERVICE" 2 && wait_replicas "$PROXY_SERVICE" 1; then
        ok "stack webapp: 2 app replicas and the proxy run"
    else
        bad "stack webapp: 2 app replicas and the proxy run"
        return
    fi
    check "every app task rendered its template from the Swarm config and read the secret" \
        all_tasks_rendered
    check "the proxy (nginx, config rendered by envconf) forwards to the app" proxy_forwards
    if deploy client stack-client.yaml swarm-override-client.yaml &&
        wait_replicas "$PROBE_SERVICE" 1; then
        check "stack client reaches the app over the external overlay network" probe_reaches_app
    else
        bad "stack client runs"
    fi
    check "scaling the app to 3: the new replica renders too" new_replica_renders
    check "stacks removed and the swarm left" swarm_down
}
