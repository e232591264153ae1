"""The examples work as their READMEs say, without Docker or Kubernetes.

Each deployment file is read for the environment it gives the app (Dockerfile ``ENV``,
Compose/stack ``environment``, Kubernetes ``env`` and ``envFrom``), its mounts are
recreated under a temporary directory (secrets, configs, ConfigMaps with Kubernetes'
``..data`` links, a data volume), container paths in that environment are rewritten to
point there, and then the real ``envconf check`` / ``envconf render`` run as subprocesses.
Compose and stack files are validated against the Compose specification's JSON schema.
Running the images for real is the container tier's job (``make test-container``).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
WEBAPP = EXAMPLES / "webapp"
SCHEMA = Path(os.environ.get("COMPOSE_SCHEMA", ROOT.parent / "shared/data/compose-spec.json"))
COMPOSE_FILES = [
    EXAMPLES / "webapp/compose.yaml",
    EXAMPLES / "nginx-proxy/compose.yaml",
    EXAMPLES / "swarm/stack-app.yaml",
    EXAMPLES / "swarm/stack-client.yaml",
]
PASSWORD = "s3cret-for-tests"


# --- helpers -----------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dockerfile_env(path: Path) -> dict[str, str]:
    """The ``ENV`` of a Dockerfile's last stage (``NAME=value`` form, continuations joined)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            env = {}
        elif words[:1] == ["ENV"]:
            for word in words[1:]:
                name, _, value = word.partition("=")
                env[name] = value
    env.pop("PATH", None)  # the venv's PATH; the test runs this interpreter instead
    return env


def compose_env(service: Mapping[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {str(k): str(v) for k, v in environment.items()}


def local_path(path: str, mounts: Mapping[str, Path]) -> str:
    """Where a container path is in the recreated mounts (longest mount point first)."""
    for target, local in sorted(mounts.items(), key=lambda m: -len(m[0])):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return str(local) + path[len(target) :]
    return path


def rewrite(env: Mapping[str, str], mounts: Mapping[str, Path]) -> dict[str, str]:
    """Point container paths in (comma-separated) values at the recreated mounts."""
    return {
        name: ",".join(local_path(part, mounts) for part in value.split(","))
        for name, value in env.items()
    }


def envconf(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real command line, with only ``env`` (plus PATH) as its environment."""
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "envconf", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr


def explain_json(env: Mapping[str, str], cwd: Path, spec: str) -> dict[str, dict[str, Any]]:
    """What ``envconf explain --format json`` lists per key, computed in-process (fast)."""
    import envconf

    module_name, _, class_name = spec.partition(":")
    old_cwd, old_path = Path.cwd(), list(sys.path)
    os.chdir(cwd)
    sys.path.insert(0, str(cwd))
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        settings = cls.load(env=env)
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
    keys = {}
    for key, origin in envconf.explain(settings).items():
        value: Any = settings
        for part in key.split("."):
            value = getattr(value, part)
        if isinstance(value, SecretStr):
            value = "**********"
        keys[key] = {"value": value, "source": origin.source, "location": origin.location}
    return keys


@pytest.fixture(autouse=True)
def _forget_example_modules() -> Iterator[None]:
    """Examples' modules are imported from their directories; unload them after a test."""
    yield
    for name in [n for n in sys.modules if n == "webapp" or n.startswith("webapp.")]:
        del sys.modules[name]


def k8s_volume(root: Path, files: Mapping[str, str]) -> Path:
    """A ConfigMap/Secret volume as the kubelet lays it out: ``..data`` swap links."""
    stamp = root / "..2024_01_01_00_00_00.000000000"
    for rel, content in files.items():
        target = stamp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    (root / "..data").symlink_to(stamp.name)
    for top in sorted({rel.split("/")[0] for rel in files}):
        (root / top).symlink_to(f"..data/{top}")
    return root


@pytest.fixture
def data_volume(tmp_path: Path) -> Path:
    """What a named volume at /data gives the app: an existing, writable directory."""
    path = tmp_path / "volume-data"
    path.mkdir()
    return path


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "db_password"
    path.parent.mkdir()
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    return path


# --- every compose and stack file is valid ----------------------------------------------


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        pytest.skip(f"Compose specification schema not found at {SCHEMA}")
    schema: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return schema


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_compose_file_matches_compose_specification(
    path: Path, compose_schema: dict[str, Any]
) -> None:
    document = load_yaml(path)
    errors = sorted(
        jsonschema.Draft7Validator(compose_schema).iter_errors(document), key=lambda e: e.path
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_stacks_share_one_external_overlay_network() -> None:
    app = load_yaml(EXAMPLES / "swarm/stack-app.yaml")
    client = load_yaml(EXAMPLES / "swarm/stack-client.yaml")
    for stack in (app, client):
        assert stack["version"].startswith("3.")  # docker stack deploy of Debian's docker.io
        assert stack["networks"]["shared"] == {"external": True, "name": "envconf-shared"}
    assert "webapp" in app["services"]["webapp"]["networks"]["shared"]["aliases"]
    assert app["services"]["webapp"]["deploy"]["replicas"] >= 2
    assert app["services"]["proxy"]["deploy"]["replicas"] >= 2
    probe_env = compose_env(client["services"]["probe"])
    assert probe_env["PROBE_URL"].startswith("http://webapp:8000/")


def test_kubernetes_manifests_parse_with_api_version_and_kind() -> None:
    documents = [
        doc
        for path in sorted((EXAMPLES / "kubernetes").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc is not None
    ]
    kinds = {doc["kind"] for doc in documents}
    assert {"Deployment", "ConfigMap", "Secret", "Service", "PersistentVolumeClaim"} <= kinds
    for doc in documents:
        assert doc["apiVersion"] and doc["metadata"]["name"], doc
    deployment = next(doc for doc in documents if doc["kind"] == "Deployment")
    for mount in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]:
        assert "subPath" not in mount, "subPath mounts never see ConfigMap updates"


# --- webapp -------------------------------------------------------------------------------


def test_webapp_dockerfile_is_multi_stage_offline_and_non_root() -> None:
    text = (WEBAPP / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.replace("\\\n", " ").splitlines()]
    assert "ARG BASE=python:3.12-slim" in lines
    assert [line for line in lines if line.startswith("FROM")] == [
        "FROM ${BASE} AS build",
        "FROM ${BASE}",
    ]
    assert "--no-index --find-links /wheelhouse envconf" in text
    assert "COPY --from=build /opt/venv /opt/venv" in lines
    assert "USER 10001:10001" in lines
    entrypoint = json.loads(
        next(x for x in lines if x.startswith("ENTRYPOINT"))[len("ENTRYPOINT") :]
    )
    assert entrypoint[:2] == ["envconf", "render"] and entrypoint[-1] == "--"
    assert json.loads(next(x for x in lines if x.startswith("CMD"))[3:]) == [
        "python", "-m", "webapp",
    ]  # fmt: skip


def webapp_compose_env(secret_file: Path, data_volume: Path) -> dict[str, str]:
    service = load_yaml(WEBAPP / "compose.yaml")["services"]["webapp"]
    env = {**dockerfile_env(WEBAPP / "Dockerfile"), **compose_env(service)}
    assert "/data" in {v.split(":")[1] for v in service["volumes"]}
    mounts = {"/run/secrets/db_password": secret_file, "/data": data_volume}
    return {**rewrite(env, mounts), "APP_DATA_DIR": str(data_volume)}


def test_webapp_check_passes_with_compose_environment(secret_file: Path, data_volume: Path) -> None:
    env = webapp_compose_env(secret_file, data_volume)
    proc = envconf(["check", "--settings", "webapp.settings:AppSettings"], env, WEBAPP)
    assert_ok(proc)
    assert proc.stdout.startswith("ok: AppSettings is valid")
    keys = explain_json(env, WEBAPP, "webapp.settings:AppSettings")
    assert keys["db.password"]["value"] == "**********"
    assert keys["db.password"]["location"].startswith(str(secret_file))
    assert keys["log_level"] == {
        **keys["log_level"],
        "value": "WARNING",
        "location": "config/app.production.yaml:2",
    }
    assert keys["db.host"]["value"] == "db.internal"


def test_webapp_production_profile_refuses_to_start_without_db_host(
    secret_file: Path, data_volume: Path
) -> None:
    env = webapp_compose_env(secret_file, data_volume)
    del env["DB_HOST"]
    proc = envconf(["check", "--settings", "webapp.settings:AppSettings"], env, WEBAPP)
    assert proc.returncode == 1
    assert "config/app.production.yaml:5" in proc.stderr
    assert "set DB_HOST to the database host" in proc.stderr
    assert PASSWORD not in proc.stderr


def test_webapp_entrypoint_renders_its_template(
    tmp_path: Path, secret_file: Path, data_volume: Path
) -> None:
    out = tmp_path / "tmpfs"
    out.mkdir()
    env = webapp_compose_env(secret_file, data_volume)
    args = ["render", "--template-dir", "templates", "--output-dir", str(out)]
    args += ["--settings", "webapp.settings:AppSettings"]
    proc = envconf(args, {**env, "HOSTNAME": "c0ffee"}, WEBAPP)
    assert_ok(proc)
    config = yaml.safe_load((out / "logging.yaml").read_text(encoding="utf-8"))
    assert config["root"]["level"] == "WARNING"
    assert "c0ffee" in config["formatters"]["plain"]["format"]
    use = "import logging.config, sys, yaml; logging.config.dictConfig(yaml.safe_load(sys.stdin))"
    check = subprocess.run([sys.executable, "-c", use], input=yaml.safe_dump(config), text=True)
    assert check.returncode == 0  # the app's logging setup accepts it


@pytest.fixture
def webapp_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(WEBAPP))
    monkeypatch.chdir(WEBAPP)
    import webapp.server

    return webapp.server


def test_webapp_serves_settings_but_never_the_secret(
    webapp_module: Any, data_volume: Path, secret_file: Path
) -> None:
    from webapp.settings import AppSettings

    settings = AppSettings.load(
        argv=["--port", "0", "--host", "127.0.0.1"],
        env={"APP_DATA_DIR": str(data_volume), "APP_DB__PASSWORD_FILE": str(secret_file)},
    )
    server = webapp_module.make_server(settings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            assert json.load(response) == {"status": "ok"}
        for visit in (1, 2):
            with urllib.request.urlopen(base + "/", timeout=5) as response:
                body = response.read().decode()
            assert PASSWORD not in body
            shown = json.loads(body)
            assert shown["visits"] == visit
            assert shown["database"]["password_set"] is True
    finally:
        server.shutdown()
        server.server_close()
    assert (data_volume / "visits").read_text(encoding="ascii") == "2"


# --- nginx-proxy --------------------------------------------------------------------------


def test_nginx_proxy_config_renders_with_defaults_and_keeps_nginx_variables(
    tmp_path: Path,
) -> None:
    compose = load_yaml(EXAMPLES / "nginx-proxy/compose.yaml")
    services = compose["services"]
    assert {"webapp", "proxy", "proxy-config"} <= set(services)
    out = tmp_path / "conf.d"
    out.mkdir()
    mounts = {"/templates": EXAMPLES / "nginx-proxy/templates", "/etc/nginx/conf.d": out}
    env = rewrite(compose_env(services["proxy-config"]), mounts)
    assert services["proxy-config"]["entrypoint"] == ["envconf", "render"]
    assert_ok(envconf(["render"], env, tmp_path))
    rendered = (out / "default.conf").read_text(encoding="utf-8")
    assert "server webapp:8000;" in rendered
    assert "listen      8080;" in rendered
    assert "proxy_set_header   Host              $host;" in rendered
    assert "$remote_addr" in rendered and "${" not in rendered

    # Without UPSTREAM the default applies; with it, the given upstream.
    env.pop("UPSTREAM")
    assert_ok(envconf(["render"], env, tmp_path))
    assert "server webapp:8000;" in (out / "default.conf").read_text(encoding="utf-8")
    assert_ok(envconf(["render"], {**env, "UPSTREAM": "api:9000"}, tmp_path))
    assert "server api:9000;" in (out / "default.conf").read_text(encoding="utf-8")


def test_nginx_proxy_webapp_service_check_passes(data_volume: Path) -> None:
    service = load_yaml(EXAMPLES / "nginx-proxy/compose.yaml")["services"]["webapp"]
    env = {**dockerfile_env(WEBAPP / "Dockerfile"), **compose_env(service)}
    env["APP_DATA_DIR"] = str(data_volume)
    assert_ok(envconf(["check", "--settings", "webapp.settings:AppSettings"], env, WEBAPP))


# --- swarm ---------------------------------------------------------------------------------


def test_swarm_app_check_passes_with_its_config_and_secret(
    tmp_path: Path, secret_file: Path, data_volume: Path
) -> None:
    stack = load_yaml(EXAMPLES / "swarm/stack-app.yaml")
    service = stack["services"]["webapp"]
    config_target = service["configs"][0]["target"]
    config_file = EXAMPLES / "swarm" / stack["configs"][service["configs"][0]["source"]]["file"]
    secret_target = "/run/secrets/" + service["secrets"][0]["target"]
    mounts = {config_target: config_file, secret_target: secret_file, "/data": data_volume}
    env = {**dockerfile_env(WEBAPP / "Dockerfile"), **compose_env(service)}
    env = {**rewrite(env, mounts), "APP_DATA_DIR": str(data_volume), "TASK_SLOT": "2"}
    assert_ok(envconf(["check", "--settings", "webapp.settings:AppSettings"], env, WEBAPP))
    keys = explain_json(env, WEBAPP, "webapp.settings:AppSettings")
    assert keys["greeting"]["value"] == "Hello from Swarm task 2 on webapp"
    assert keys["greeting"]["location"] == f"{config_file}:3"
    assert keys["log_level"]["value"] == "INFO"  # the Swarm config beats the profile file
    assert keys["db.password"]["source"] == "env"


def test_swarm_proxy_config_renders_at_deploy_time(tmp_path: Path) -> None:
    template = EXAMPLES / "nginx-proxy/templates/default.conf.template"
    assert_ok(envconf(["render", "-t", f"{template}:proxy.conf"], {}, tmp_path))
    assert "server webapp:8000;" in (tmp_path / "proxy.conf").read_text(encoding="utf-8")


def test_swarm_probe_settings_check_passes() -> None:
    service = load_yaml(EXAMPLES / "swarm/stack-client.yaml")["services"]["probe"]
    env = compose_env(service)
    assert env["ENVCONF_WAIT"].startswith("http://webapp:8000/")
    proc = envconf(["check", "--settings", "webapp.probe:ProbeSettings"], env, WEBAPP)
    assert_ok(proc)
    keys = explain_json(env, WEBAPP, "webapp.probe:ProbeSettings")
    assert keys["interval"] == {**keys["interval"], "value": 5.0, "location": "PROBE_INTERVAL"}


# --- kubernetes ------------------------------------------------------------------------------


def kubernetes_objects() -> dict[tuple[str, str], dict[str, Any]]:
    objects = {}
    for path in sorted((EXAMPLES / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def test_kubernetes_pod_renders_and_checks_from_configmap_and_secret_mounts(
    tmp_path: Path, data_volume: Path
) -> None:
    objects = kubernetes_objects()
    pod = objects[("Deployment", "webapp")]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts: dict[str, Path] = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        local = tmp_path / "pod" / mount["name"]
        local.mkdir(parents=True)
        if "configMap" in volume:
            data = objects[("ConfigMap", volume["configMap"]["name"])]["data"]
            items = volume["configMap"].get("items") or [{"key": k, "path": k} for k in data]
            k8s_volume(local, {item["path"]: data[item["key"]] for item in items})
        elif "secret" in volume:
            data = objects[("Secret", volume["secret"]["secretName"])]["stringData"]
            k8s_volume(local, dict(data))
        mounts[mount["mountPath"]] = local
    env: dict[str, str] = dockerfile_env(WEBAPP / "Dockerfile")
    for source in container.get("envFrom", []):
        env.update(objects[("ConfigMap", source["configMapRef"]["name"])]["data"])
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    env = {**rewrite(env, mounts), "APP_DATA_DIR": str(mounts["/data"]), "HOSTNAME": "pod-1"}

    command = container["command"]
    assert command[:2] == ["envconf", "render"] and command[-1] == "--"
    options = [local_path(arg, mounts) for arg in command[2:-1]]
    assert_ok(envconf(["render", *options], env, WEBAPP))
    rendered = yaml.safe_load((mounts["/tmp"] / "logging.yaml").read_text(encoding="utf-8"))
    assert rendered["root"]["level"] == "INFO"  # app.k8s.yaml beats the production profile
    assert "pod-1" in rendered["formatters"]["plain"]["format"]

    assert_ok(envconf(["check", "--settings", "webapp.settings:AppSettings"], env, WEBAPP))
    keys = explain_json(env, WEBAPP, "webapp.settings:AppSettings")
    assert keys["greeting"]["value"] == "Hello from pod pod-1"
    assert keys["db.host"]["value"] == "postgres.default.svc.cluster.local"
    assert keys["db.password"]["location"].startswith(str(mounts["/run/secrets/webapp"]))


def test_kubernetes_template_matches_the_images_template(tmp_path: Path) -> None:
    """The ConfigMap's logging template renders exactly like the one in the image."""
    configmap = kubernetes_objects()[("ConfigMap", "webapp-files")]
    (tmp_path / "k8s.yaml.j2").write_text(configmap["data"]["logging.yaml.j2"], encoding="utf-8")
    image = (WEBAPP / "templates/logging.yaml.j2").read_text(encoding="utf-8")
    (tmp_path / "image.yaml.j2").write_text(image, encoding="utf-8")
    for name in ("k8s", "image"):
        (tmp_path / name).mkdir()
    env = {"APP_DATA_DIR": str(tmp_path), "HOSTNAME": "h"}
    args = ["render", "--settings", "webapp.settings:AppSettings"]
    for name in ("k8s", "image"):
        args += ["-t", f"{tmp_path / name}.yaml.j2:{tmp_path / name / 'logging.yaml'}"]
    assert_ok(envconf(args, env, WEBAPP))
    assert (tmp_path / "k8s/logging.yaml").read_text() == (
        tmp_path / "image/logging.yaml"
    ).read_text()


# --- the demo --------------------------------------------------------------------------------


def test_demo_settings_check_passes() -> None:
    demo = EXAMPLES / "demo"
    assert_ok(envconf(["check", "--settings", "settings.py:AppSettings"], {}, demo))


def test_webapp_configuration_reference_is_up_to_date() -> None:
    """CONFIGURATION.md is `envconf docs` output, committed; regenerate it when it differs."""
    proc = envconf(["docs", "--settings", "webapp.settings:AppSettings"], {}, WEBAPP)
    assert_ok(proc)
    committed = (WEBAPP / "CONFIGURATION.md").read_text(encoding="utf-8")
    assert proc.stdout == committed, (
        "examples/webapp/CONFIGURATION.md is stale; run in examples/webapp: "
        "envconf docs --settings webapp.settings:AppSettings > CONFIGURATION.md"
    )


def test_webapp_reloads_its_logging_config_on_sighup_and_stops_on_sigterm(
    tmp_path: Path, secret_file: Path, data_volume: Path
) -> None:
    import signal
    import time

    env = webapp_compose_env(secret_file, data_volume)
    env.pop("APP_LOGGING_CONFIG", None)
    env = {**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(WEBAPP)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "webapp", "--port", "0", "--log-level", "INFO"],
        env=env,
        cwd=WEBAPP,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "listening on" in proc.stderr.readline()
        proc.send_signal(signal.SIGHUP)
        assert "SIGHUP received" in proc.stderr.readline()
        time.sleep(0.1)
        assert proc.poll() is None  # SIGHUP did not end the app
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
