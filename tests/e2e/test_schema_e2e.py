"""End-to-end tests of ``envconf schema``: the real command, the examples, a real editor.

The editor is ``yaml-language-server`` (the server behind VS Code's, Neovim's and Helix's
YAML support), installed by ``make yaml-ls`` into ``.cache/node`` and driven over stdio
by the small LSP client below. Without node or the server the editor test skips, except
under CI, where it fails.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SERVER = ROOT / ".cache/node/node_modules/yaml-language-server/bin/yaml-language-server"
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
#: How long the server may take to answer (it answers in well under a second).
LSP_TIMEOUT = 60.0

DEMO = "settings:AppSettings"
WEBAPP = "webapp.settings:AppSettings"
#: Every settings config file of the examples: (example dir, settings, file, key inside).
#: A key names a file embedded in a manifest (a Kubernetes ConfigMap's ``data``).
EXAMPLE_CONFIGS = [
    ("demo", DEMO, "config/app.yaml", None),
    ("demo", DEMO, "config/app.production.yaml", None),
    ("webapp", WEBAPP, "config/app.yaml", None),
    ("webapp", WEBAPP, "config/app.production.yaml", None),
    ("webapp", WEBAPP, "../swarm/app.swarm.yaml", None),
    ("webapp", WEBAPP, "../kubernetes/configmap.yaml", "app.k8s.yaml"),
]
#: The other YAML/JSON/TOML files under examples/: deployment files and templates.
NOT_SETTINGS_CONFIGS = {
    "kubernetes/deployment.yaml",
    "kubernetes/pvc.yaml",
    "kubernetes/secret.yaml",
    "nginx-proxy/compose.yaml",
    "swarm/stack-app.yaml",
    "swarm/stack-client.yaml",
    "webapp/compose.yaml",
    "webapp/templates/logging.yaml.j2",
}


def envconf(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``envconf`` command (the console script next to this Python)."""
    script = Path(sys.executable).with_name("envconf")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "envconf"]
    return subprocess.run(
        [*command, *args],
        env=BASE_ENV,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def schema_of(example: str, settings: str, fmt: str = "json") -> dict[str, Any]:
    result = envconf(EXAMPLES / example, "schema", "--settings", settings, "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    loaded: dict[str, Any] = (
        json.loads(result.stdout) if fmt == "json" else yaml.safe_load(result.stdout)
    )
    return loaded


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def config_document(example: str, path: str, key: str | None) -> Any:
    text = (EXAMPLES / example / path).read_text()
    if key is None:
        return yaml.safe_load(text)
    for manifest in yaml.safe_load_all(text):
        if key in (manifest.get("data") or {}):
            return yaml.safe_load(manifest["data"][key])
    raise AssertionError(f"{path} holds no {key}")


def test_every_settings_config_of_the_examples_is_listed_here() -> None:
    """A new example config must be added to EXAMPLE_CONFIGS (or said not to be one)."""
    found = {
        str(p.relative_to(EXAMPLES))
        for p in EXAMPLES.rglob("*")
        if p.is_file()
        and "wheelhouse" not in p.parts
        and p.name.removesuffix(".j2").endswith((".yaml", ".yml", ".json", ".toml"))
    }
    listed = {
        os.path.normpath(f"{example}/{path}") for example, _, path, _ in EXAMPLE_CONFIGS
    } | NOT_SETTINGS_CONFIGS
    assert found == listed


@pytest.mark.parametrize(
    ("example", "settings", "path", "key"),
    EXAMPLE_CONFIGS,
    ids=[f"{e}:{p}" + (f"[{k}]" if k else "") for e, _, p, k in EXAMPLE_CONFIGS],
)
def test_every_example_config_validates_against_its_schema(
    example: str, settings: str, path: str, key: str | None
) -> None:
    schema = schema_of(example, settings)
    document = config_document(example, path, key)
    assert document, "an empty document proves nothing"
    errors = [e.message for e in validator(schema).iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"workers": 4, "db": {"hots": "db.internal"}}, "'hots' was unexpected"),
        ({"wrokers": 4}, "'wrokers' was unexpected"),
        ({"workers": "many"}, "'many' is not valid under any of the given schemas"),
        ({"db": {"port": "five"}}, "'five' is not valid under any of the given schemas"),
        ({"allowed_hosts": "localhost"}, "'localhost' is not of type 'array'"),
    ],
)
def test_a_typo_or_a_wrong_type_fails_the_schema(document: Any, expected: str) -> None:
    errors = [e.message for e in validator(schema_of("demo", DEMO)).iter_errors(document)]
    assert len(errors) == 1
    assert expected in errors[0]


def test_yaml_format_is_the_same_schema() -> None:
    assert schema_of("webapp", WEBAPP, "yaml") == schema_of("webapp", WEBAPP)


def test_the_schema_is_stable_text() -> None:
    first = envconf(EXAMPLES / "demo", "schema", "--settings", DEMO)
    second = envconf(EXAMPLES / "demo", "schema", "--settings", DEMO)
    assert first.stdout == second.stdout
    assert first.stdout.endswith("}\n")


def test_a_secret_is_write_only_in_the_webapp_schema() -> None:
    password = schema_of("webapp", WEBAPP)["properties"]["db"]["properties"]["password"]
    assert password["writeOnly"] is True
    assert "default" not in password
    assert "APP_DB__PASSWORD_FILE" in password["description"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--settings", "no_such_module:App"), "cannot import no_such_module"),
        (("--settings", "settings:Missing"), "has no attribute Missing"),
        (("--settings", "settings"), "expected MODULE:CLASS"),
        (("--settings", DEMO, "--format", "xml"), "invalid choice: 'xml'"),
        ((), "the following arguments are required: --settings"),
    ],
)
def test_a_bad_command_line_exits_2_without_a_traceback(
    args: tuple[str, ...], message: str
) -> None:
    result = envconf(EXAMPLES / "demo", "schema", *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr
    assert result.stderr.startswith("envconf: ")
    assert "Traceback" not in result.stderr


def test_settings_default_to_envconf_settings() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "envconf", "schema"],
        env={**BASE_ENV, "ENVCONF_SETTINGS": DEMO},
        cwd=EXAMPLES / "demo",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "AppSettings config file"


# --- a real editor: yaml-language-server over stdio -------------------------------------


class LanguageServer:
    """A language server over stdio: JSON-RPC messages framed by ``Content-Length``.

    A reader thread parses the server's output into a queue, so every wait has a deadline
    and no wait depends on timing: the test waits for the one message it needs.
    """

    def __init__(self, command: list[str], log: Path) -> None:
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                assert length is not None, "a message without Content-Length"
                self.messages.put(json.loads(stream.read(length)))
        finally:
            self.messages.put(None)  # end of output

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self._next_id += 1
        ident = self._next_id
        self.send({"id": ident, "method": method, "params": params})
        reply = self.wait(lambda m: m.get("id") == ident and "method" not in m)
        assert "error" not in reply, reply
        return reply.get("result")

    def wait(self, wanted: Any) -> dict[str, Any]:
        """Return the first message ``wanted(message)`` accepts; answer requests meanwhile."""
        deadline = time.monotonic() + LSP_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no answer from the language server in {LSP_TIMEOUT} s")
            try:
                message = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if message is None:
                raise AssertionError(f"the language server exited: {self.stderr()}")
            if "method" in message and "id" in message:  # a request from the server
                self.send({"id": message["id"], "result": None})
            elif wanted(message):
                return message

    def diagnostics(self, path: Path) -> list[dict[str, Any]]:
        """Open ``path`` in the editor and return the problems the server publishes for it."""
        uri = path.resolve().as_uri()
        document = {"uri": uri, "languageId": "yaml", "version": 1, "text": path.read_text()}
        self.notify("textDocument/didOpen", {"textDocument": document})
        published = self.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
            )
        )
        found: list[dict[str, Any]] = published["params"]["diagnostics"]
        return found

    def stderr(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-2000:]

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log.close()


def _ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def server_command() -> list[str]:
    node = shutil.which("node")
    if node is None or not SERVER.is_file():
        missing = "node" if node is None else f"{SERVER.relative_to(ROOT)}"
        if _ci():
            pytest.fail(f"{missing} is missing: CI must run the editor test (make yaml-ls)")
        pytest.skip(f"{missing} is missing: run `make yaml-ls` to run the editor test")
    return [node, str(SERVER), "--stdio"]


@pytest.fixture
def editor(server_command: list[str], tmp_path: Path) -> Iterator[LanguageServer]:
    server = LanguageServer(server_command, tmp_path / "yaml-language-server.log")
    try:
        server.request(
            "initialize",
            {"processId": os.getpid(), "rootUri": tmp_path.as_uri(), "capabilities": {}},
        )
        server.notify("initialized", {})
        # Validation on; no schema store (it would be fetched from the network).
        settings = {"validate": True, "schemaStore": {"enable": False}, "schemas": {}}
        server.notify("workspace/didChangeConfiguration", {"settings": {"yaml": settings}})
        yield server
    finally:
        server.close()


#: A demo config with one typo'd nested key and one wrong type, and valid ${VAR} uses.
BAD_CONFIG = """\
# yaml-language-server: $schema=./shop.schema.json
workers: many
listen: "0.0.0.0:${PORT:-8000}"
allowed_hosts: [localhost, example.com]
db:
  hots: db.internal
  port: ${DB_PORT:-5432}
"""


def check_problems(project: Path, config: Path) -> dict[int, dict[str, str]]:
    """``envconf check``'s problems with ``config``, by line."""
    app_args = ("--", "--config", str(config))
    result = envconf(project, "check", "--settings", DEMO, "--format", "json", *app_args)
    assert result.returncode == 1, result.stderr
    problems = json.loads(result.stdout)["problems"]
    by_line = {}
    for problem in problems:
        path, _, line = problem["location"].rpartition(":")
        assert path == str(config)
        by_line[int(line)] = problem
    return by_line


def test_the_editor_reports_what_check_reports_on_the_same_lines(
    editor: LanguageServer, tmp_path: Path
) -> None:
    project = tmp_path / "demo"
    shutil.copytree(EXAMPLES / "demo", project)
    schema = envconf(project, "schema", "--settings", DEMO)
    assert schema.returncode == 0, schema.stderr
    (project / "shop.schema.json").write_text(schema.stdout)
    config = project / "shop.yaml"
    config.write_text(BAD_CONFIG)

    started = time.monotonic()
    diagnostics = editor.diagnostics(config)
    elapsed = time.monotonic() - started
    seen = {d["range"]["start"]["line"] + 1: d["message"] for d in diagnostics}
    expected = check_problems(project, config)

    assert sorted(seen) == sorted(expected) == [2, 6]
    assert expected[2]["key"] == "workers"
    assert "valid integer" in expected[2]["message"]
    assert seen[2] == 'Incorrect type. Expected "integer".'
    assert expected[6]["key"] == "db.hots"
    assert expected[6]["message"] == "unknown key (did you mean db.host?)"
    assert seen[6] == "Property hots is not allowed."
    assert elapsed < LSP_TIMEOUT


def test_the_editor_accepts_the_example_configs(editor: LanguageServer, tmp_path: Path) -> None:
    project = tmp_path / "webapp"
    shutil.copytree(EXAMPLES / "webapp", project, ignore=shutil.ignore_patterns("wheelhouse"))
    schema = envconf(project, "schema", "--settings", WEBAPP)
    (project / "webapp.schema.json").write_text(schema.stdout)
    for name in ("app.yaml", "app.production.yaml"):
        config = project / "config" / name
        text = config.read_text()
        config.write_text("# yaml-language-server: $schema=../webapp.schema.json\n" + text)
        assert editor.diagnostics(config) == [], name
