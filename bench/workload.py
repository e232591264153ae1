"""Deterministic (seeded) workloads shared by every benchmark.

Settings: a model of ``n`` top-level fields (one nested model of 5 fields, one SecretStr,
the rest cycling str/int/bool/float/list[str]); a YAML file sets 60% of the leaves,
prefixed env vars 30% (some nested with ``__``), CLI flags 10%, with a few overlaps so
that precedence matters. At n=50 that is 30 YAML keys, 15 env vars and 5 flags.

Templates: nginx-like files of ~2 KB with ~10 ``${VAR}`` references each, plus one of
~200 KB, also written as Jinja2 (``{{ VAR }}``). nginx's own ``$host``-style variables
are left in the text: they must survive rendering.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = 20240611
PREFIX = "APP_"
DELIM = "__"
KINDS = ("str", "int", "bool", "float", "list")
ANNOTATIONS = {"str": "str", "int": "int", "bool": "bool", "float": "float", "list": "list[str]"}
NESTED = (("host", "str"), ("port", "int"), ("user", "str"), ("timeout", "float"), ("tls", "bool"))


@dataclass(frozen=True)
class Leaf:
    """One settable leaf: its path, kind and default."""

    path: tuple[str, ...]
    kind: str
    default: Any

    @property
    def key(self) -> str:
        return ".".join(self.path)


@dataclass
class SettingsWorkload:
    """Everything one settings-load comparison needs, for every library."""

    n: int
    leaves: list[Leaf]
    yaml_values: dict[tuple[str, ...], Any] = field(default_factory=dict)
    env_values: dict[tuple[str, ...], Any] = field(default_factory=dict)
    cli_values: dict[tuple[str, ...], Any] = field(default_factory=dict)

    def leaf(self, path: tuple[str, ...]) -> Leaf:
        return next(leaf for leaf in self.leaves if leaf.path == path)

    # --- what every library must produce ------------------------------------------------

    def expected(self) -> dict[str, Any]:
        """The merged result: defaults < YAML < env < CLI."""
        out: dict[str, Any] = {}
        for leaf in self.leaves:
            value = leaf.default
            for layer in (self.yaml_values, self.env_values, self.cli_values):
                if leaf.path in layer:
                    value = layer[leaf.path]
            node = out
            for part in leaf.path[:-1]:
                node = node.setdefault(part, {})
            node[leaf.path[-1]] = value
        return out

    # --- inputs -------------------------------------------------------------------------

    def yaml_text(self) -> str:
        top: dict[str, Any] = {}
        for path, value in self.yaml_values.items():
            node = top
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        lines: list[str] = []
        for name, value in top.items():
            if isinstance(value, dict):
                lines.append(f"{name}:")
                lines.extend(f"  {k}: {_yaml_scalar(v)}" for k, v in value.items())
            else:
                lines.append(f"{name}: {_yaml_scalar(value)}")
        return "\n".join(lines) + "\n"

    def environ(self) -> dict[str, str]:
        return {
            PREFIX + DELIM.join(path).upper(): _env_text(value)
            for path, value in self.env_values.items()
        }

    def cli_pairs(self) -> list[tuple[tuple[str, ...], Any]]:
        return list(self.cli_values.items())

    def argv_envconf(self) -> list[str]:
        """envconf: ``--db.port 6000``, ``--flag`` / ``--no-flag``."""
        argv: list[str] = []
        for path, value in self.cli_pairs():
            flag = "--" + ".".join(path)
            if isinstance(value, bool):
                argv.append(flag if value else "--no-" + flag[2:])
            else:
                argv += [flag, _env_text(value)]
        return argv

    def argv_pydantic(self) -> list[str]:
        """pydantic-settings: ``--db.port 6000``, ``--flag true``."""
        argv: list[str] = []
        for path, value in self.cli_pairs():
            argv += ["--" + ".".join(path), _env_text(value)]
        return argv

    def argv_typed(self) -> list[str]:
        """typed-settings (argparse): ``--db-port 6000``, ``--flag`` / ``--no-flag``."""
        argv: list[str] = []
        for path, value in self.cli_pairs():
            flag = "--" + "-".join(path).replace("_", "-")
            if isinstance(value, bool):
                argv.append(flag if value else "--no-" + flag[2:])
            else:
                argv += [flag, _env_text(value)]
        return argv

    def argv_pairs(self) -> list[str]:
        """The floor and dynaconf apps: simple ``--key=value`` pairs."""
        return [f"--{'.'.join(path)}={_env_text(value)}" for path, value in self.cli_pairs()]

    # --- model source -------------------------------------------------------------------

    def field_lines(self, indent: str = "    ") -> str:
        lines = []
        for leaf in self.leaves:
            if len(leaf.path) > 1:
                continue
            name = leaf.path[0]
            if leaf.kind == "secret":
                lines.append(f"{indent}{name}: SecretStr = SecretStr({leaf.default!r})")
            else:
                lines.append(f"{indent}{name}: {ANNOTATIONS[leaf.kind]} = {leaf.default!r}")
        lines.append(f"{indent}db: Db = Db()")
        return "\n".join(lines)

    def module_source(self, flavour: str, yaml_path: str) -> str:
        """A module defining the model as an app using ``flavour`` would write it.

        ``plain`` is a pydantic ``BaseModel`` (the floor, dynaconf and typed-settings
        validate into it), ``envconf`` an ``envconf.Settings`` and ``pydantic`` a
        pydantic-settings ``BaseSettings`` reading YAML + env (+ CLI when asked).
        """
        nested = "\n".join(
            f"    {name}: {ANNOTATIONS[kind]} = {self.leaf(('db', name)).default!r}"
            for name, kind in NESTED
        )
        head = _HEADS[flavour].format(yaml=yaml_path, prefix=PREFIX)
        return _MODULE.format(head=head, nested=nested, fields=self.field_lines())


_MODULE = """# Generated by bench/workload.py: the same settings model for every library.
# ruff: noqa
{head}

class Db(BaseModel):
{nested}


class Settings(Base):
{fields}
"""

_HEADS = {
    "plain": "from pydantic import BaseModel, SecretStr\n\nBase = BaseModel\n",
    "envconf": """from pydantic import BaseModel, SecretStr

import envconf


class Base(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix={prefix!r}, env_nested_delimiter="__", config_files=[{yaml!r}]
    )
""",
    "pydantic": """from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict, YamlConfigSettingsSource


class Base(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix={prefix!r}, env_nested_delimiter="__", yaml_file={yaml!r}
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))
""",
}


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return str(value)


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def _word(rng: random.Random) -> str:
    # A "v-" prefix keeps every string unambiguous in YAML, TOML-ish env parsers and JSON.
    return "v-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))


def _value(rng: random.Random, kind: str) -> Any:
    if kind in ("str", "secret"):
        return _word(rng)
    if kind == "int":
        return rng.randint(1, 99999)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "float":
        return rng.randint(1, 99999) / 8  # exact in binary: same float from every parser
    return [_word(rng) for _ in range(rng.randint(1, 3))]


def settings_workload(n: int, seed: int = SEED) -> SettingsWorkload:
    """The settings workload at ``n`` top-level fields (n >= 10)."""
    rng = random.Random(seed * 1000 + n)
    leaves: list[Leaf] = [Leaf(("api_token",), "secret", "d-token")]
    for i in range(2, n):
        kind = KINDS[i % len(KINDS)]
        leaves.append(Leaf((f"{kind}_{i:04d}",), kind, _value(rng, kind)))
    for name, kind in NESTED:
        leaves.append(Leaf(("db", name), kind, _value(rng, kind)))
    work = SettingsWorkload(n, leaves)

    n_yaml, n_env, n_cli = round(n * 0.6), round(n * 0.3), round(n * 0.1)
    top = [leaf for leaf in leaves if len(leaf.path) == 1 and leaf.kind != "secret"]
    rng.shuffle(top)
    db = [leaf for leaf in leaves if leaf.path[0] == "db"]
    # YAML: three nested keys, the rest top-level.
    for leaf in db[:3] + top[: n_yaml - 3]:
        work.yaml_values[leaf.path] = _value(rng, leaf.kind)
    # Env: the secret, two nested keys (one overriding YAML), some YAML keys overridden.
    overlap = max(1, n_env // 5)
    env_leaves = [leaves[0], db[2], db[3]]
    env_leaves += top[n_yaml - 3 - overlap : n_yaml - 3]
    env_leaves += top[n_yaml - 3 : n_yaml - 3 + n_env - len(env_leaves)]
    for leaf in env_leaves:
        work.env_values[leaf.path] = _value(rng, leaf.kind)
    # CLI: scalars only (list and secret flags differ between tools): one nested key, one
    # overriding an env var, the rest fresh.
    used = set(work.yaml_values) | set(work.env_values)
    fresh = [leaf for leaf in top if leaf.path not in used and leaf.kind != "list"]
    cli_leaves = [db[4]]
    cli_leaves += [leaf for leaf in env_leaves[3:] if leaf.kind != "list"][:1]
    cli_leaves += fresh[: n_cli - len(cli_leaves)]
    for leaf in cli_leaves:
        work.cli_values[leaf.path] = _value(rng, leaf.kind)
    return work


# --- templates ----------------------------------------------------------------------------

TEMPLATE_VARS = 24

_SERVER = """server {{
    listen       ${{NGINX_PORT_{a}}};
    listen  [::]:${{NGINX_PORT_{a}}};
    server_name  ${{NGINX_HOST_{b}}} www.${{NGINX_HOST_{b}}};
    root         /usr/share/nginx/${{NGINX_ROOT_{c}}};
    access_log   /var/log/nginx/${{NGINX_HOST_{b}}}.access.log main;
    client_max_body_size ${{NGINX_BODY_{d}}};

    location / {{
        proxy_pass         http://${{NGINX_UPSTREAM_{e}}}:${{NGINX_UPSTREAM_PORT_{e}}};
        proxy_set_header   Host              $host;
        proxy_set_header   X-Real-IP         $remote_addr;
        proxy_set_header   X-Forwarded-For   $proxy_add_x_forwarded_for;
        proxy_set_header   X-Forwarded-Proto $scheme;
        proxy_read_timeout ${{NGINX_TIMEOUT_{f}}};
        proxy_buffering    off;
    }}

    location /static/ {{
        alias  /srv/${{NGINX_ROOT_{c}}}/static/;
        expires 30d;
        add_header Cache-Control "public, max-age=2592000";
        try_files $uri $uri/ =404;
    }}

    location = /healthz {{
        access_log off;
        return 200 "ok $request_id\\n";
    }}

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {{
        root   /usr/share/nginx/html;
    }}
}}
"""

_HEADER = """# Generated from a template at container start. Do not edit by hand.
# nginx variables such as $host, $remote_addr and $request_uri are kept as they are.
upstream backend_{i} {{
    server ${{NGINX_UPSTREAM_{e}}}:${{NGINX_UPSTREAM_PORT_{e}}} max_fails=3 fail_timeout=30s;
    keepalive 32;
}}

map $http_upgrade $connection_upgrade_{i} {{
    default upgrade;
    ''      close;
}}

gzip on;
gzip_types text/plain text/css application/json application/javascript text/xml;
gzip_min_length 1024;
gzip_proxied any;
resolver 127.0.0.11 valid=30s ipv6=off;
resolver_timeout 5s;

log_format main_{i} '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';

"""


def template_env() -> dict[str, str]:
    rng = random.Random(SEED)
    env: dict[str, str] = {}
    for i in range(TEMPLATE_VARS):
        env[f"NGINX_PORT_{i}"] = str(8000 + i)
        env[f"NGINX_HOST_{i}"] = f"{_word(rng)[2:]}.example.com"
        env[f"NGINX_ROOT_{i}"] = _word(rng)[2:]
        env[f"NGINX_BODY_{i}"] = f"{rng.randint(1, 64)}m"
        env[f"NGINX_UPSTREAM_{i}"] = f"{_word(rng)[2:]}.internal"
        env[f"NGINX_UPSTREAM_PORT_{i}"] = str(rng.randint(1024, 65535))
        env[f"NGINX_TIMEOUT_{i}"] = f"{rng.randint(5, 300)}s"
    return env


def _template(rng: random.Random, index: int, servers: int) -> str:
    def pick() -> dict[str, int]:
        return {k: rng.randrange(TEMPLATE_VARS) for k in "abcdef"}

    parts = [_HEADER.format(i=index, **pick())]
    parts += [_SERVER.format(**pick()) for _ in range(servers)]
    return "".join(parts)


def templates() -> dict[str, str]:
    """Relative name (without suffix) -> envsubst-style text: 20 small + 1 of ~200 KB."""
    rng = random.Random(SEED + 1)
    out = {f"site{i:02d}.conf": _template(rng, i, 1) for i in range(20)}
    out["big.conf"] = _template(rng, 99, 175)
    return out


def as_jinja(text: str) -> str:
    """The same template for the Jinja2 engine: ``${VAR}`` -> ``{{ VAR }}``."""
    import re

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", r"{{ \1 }}", text)


def rendered(text: str, env: dict[str, str]) -> str:
    import re

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env[m.group(1)], text)


def write_templates(root: Path) -> tuple[Path, Path, dict[str, str]]:
    """Write both template sets; return (envsubst dir, jinja dir, expected outputs)."""
    env = template_env()
    tmpl_dir, j2_dir = root / "templates-envsubst", root / "templates-jinja"
    expected: dict[str, str] = {}
    for directory in (tmpl_dir, j2_dir):
        directory.mkdir(parents=True, exist_ok=True)
    for name, text in templates().items():
        (tmpl_dir / f"{name}.template").write_text(text)
        (j2_dir / f"{name}.j2").write_text(as_jinja(text))
        expected[name] = rendered(text, env)
    return tmpl_dir, j2_dir, expected
