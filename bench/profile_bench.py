"""Profile evidence for docs/performance.md: where envconf's time goes, and what-ifs.

Run with the peers venv's Python after ``settings_bench.py`` and ``process_bench.py`` have
written their work files (``make bench`` does):

- import cost by package (``python -X importtime``, median of several fresh processes);
- app start by phase (import, class definition, first and second load), fresh processes;
- envconf's own import with its dependencies preloaded, and how much of it is dataclass
  creation and ``re.compile``;
- a cProfile of one in-process load (50 fields), as shares of the load, and the YAML
  parse against PyYAML's C loader and composer;
- ``envconf render``: in-process render vs writes (with and without fsync), and the Jinja2
  engine's split on the 200 KB template (parse, name scan, compile, render).

    python bench/profile_bench.py --work DIR --out profile.json
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
import timeit
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import log  # noqa: E402
from workload import settings_workload, template_env  # noqa: E402

PYTHON = sys.executable
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


# --- imports ------------------------------------------------------------------------------


def importtime(code: list[str], runs: int = 7, cwd: Path | None = None) -> dict[str, Any]:
    """Self time by top-level package (ms), median over fresh processes."""
    per_run: list[Counter[str]] = []
    modules: list[Counter[str]] = []
    env = {**os.environ, **template_env()}
    for _ in range(runs + 1):  # the first run may still write .pyc files
        done = subprocess.run(
            [PYTHON, "-X", "importtime", *code], capture_output=True, text=True, env=env, cwd=cwd
        )
        packages: Counter[str] = Counter()
        mods: Counter[str] = Counter()
        for line in done.stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if match:
                packages[match.group(4).split(".")[0]] += int(match.group(1))
                mods[match.group(4)] += int(match.group(1))
        per_run.append(packages)
        modules.append(mods)
    per_run, modules = per_run[1:], modules[1:]

    def medians(runs_: list[Counter[str]]) -> dict[str, float]:
        names = set().union(*runs_)
        return {n: statistics.median(r.get(n, 0) for r in runs_) / 1000 for n in names}

    packages = medians(per_run)
    mods = medians(modules)
    top = dict(sorted(packages.items(), key=lambda kv: -kv[1])[:14])
    own = {k: v for k, v in mods.items() if k.startswith("envconf")}
    return {
        "total_ms": statistics.median(sum(r.values()) for r in per_run) / 1000,
        "packages": top,
        "envconf_modules": dict(sorted(own.items(), key=lambda kv: -kv[1])[:12]),
        "envconf_total_ms": sum(own.values()),
    }


# --- envconf's own import -----------------------------------------------------------------

_OWN_IMPORT = """
import sys, time
what = sys.argv[1]
# Everything envconf.settings imports from outside envconf, loaded first.
import contextvars, difflib, enum, io, json, math, stat, tomllib, warnings
import dotenv.parser, pydantic_settings, yaml
import dataclasses, re
spent = {"dataclass": 0.0, "re.compile": 0.0}
if what == "count":
    def timed(fn, key):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start
        return wrapper
    re.compile = timed(re.compile, "re.compile")
    dataclasses._process_class = timed(dataclasses._process_class, "dataclass")
start = time.perf_counter()
import envconf.settings
print(time.perf_counter() - start, spent["dataclass"], spent["re.compile"])
"""


def own_import(runs: int = 9) -> dict[str, float]:
    """``import envconf.settings`` with its dependencies already loaded (ms, medians)."""
    samples: dict[str, list[list[float]]] = {"as is": [], "count": []}
    for _ in range(runs):
        for what in samples:
            done = subprocess.run(
                [PYTHON, "-c", _OWN_IMPORT, what], capture_output=True, text=True, check=True
            )
            samples[what].append([float(x) * 1000 for x in done.stdout.split()])
    med = {k: [statistics.median(col) for col in zip(*v, strict=True)] for k, v in samples.items()}
    return {
        "envconf's own import (dependencies preloaded)": med["as is"][0],
        "... of which in dataclass creation": med["count"][1],
        "... of which in re.compile at module level": med["count"][2],
    }


# --- app start phases ---------------------------------------------------------------------

_PHASES = """
import sys, time
t0 = time.perf_counter()
flavour, what_if = sys.argv[1], sys.argv[2]
if flavour == "envconf":
    import envconf.settings
else:
    import pydantic_settings
t1 = time.perf_counter()
mod = __import__(f"settings_{{flavour}}_50")
t2 = time.perf_counter()
argv = {argvs!r}[flavour]
load = (lambda: mod.Settings.load(argv=argv)) if flavour == "envconf" else (
    lambda: mod.Settings(_cli_parse_args=argv))
load()
t3 = time.perf_counter()
load()
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def app_phases(work_root: Path, runs: int = 12) -> dict[str, Any]:
    from settings_bench import set_environment

    work = settings_workload(50)
    root = work_root / "app-50"
    set_environment(work)
    argvs = {"envconf": work.argv_envconf(), "pydantic": work.argv_pydantic()}
    script = root / "phases.py"
    script.write_text(_PHASES.format(argvs=argvs))
    variants = {
        "envconf": ("envconf", "-"),
        "pydantic-settings": ("pydantic", "-"),
    }
    samples: dict[str, list[list[float]]] = {name: [] for name in variants}
    for _ in range(runs + 1):
        for name, (flavour, what_if) in variants.items():
            done = subprocess.run(
                [PYTHON, str(script), flavour, what_if],
                capture_output=True,
                text=True,
                cwd=root,
                check=True,
            )
            samples[name].append([float(x) * 1000 for x in done.stdout.split()])
    out: dict[str, Any] = {}
    for name, rows in samples.items():
        rows = rows[1:]
        cols = list(zip(*rows, strict=True))
        out[name] = {
            phase: statistics.median(col)
            for phase, col in zip(
                ("import", "class definition", "first load", "second load"), cols, strict=True
            )
        }
    return out


# --- in-process load ----------------------------------------------------------------------


def load_profile(work_root: Path) -> dict[str, Any]:
    from settings_bench import prepare, set_environment

    work = settings_workload(50)
    mods = prepare(work, work_root / "settings-50")
    set_environment(work)
    cls, argv = mods["envconf"].Settings, work.argv_envconf()

    def load() -> Any:
        return cls.load(argv=argv)

    for _ in range(50):
        load()
    per_load = statistics.median(timeit.repeat(load, number=50, repeat=9)) / 50
    profiler = cProfile.Profile()
    gc.disable()  # a collection would be billed to whichever function happened to allocate
    profiler.enable()
    for _ in range(300):
        load()
    profiler.disable()
    gc.enable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in raw.values())
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in raw.items():
        if "envconf" not in filename and "pydantic" not in filename and func != "<listcomp>":
            continue
        name = f"{_short(filename)}:{line}({func})"
        rows.append((name, cumtime / total, tottime / total, ncalls / 300))
    rows.sort(key=lambda r: -r[1])
    skip = ("(load)", "(_envconf_build)", "(gather)")
    top = [r for r in rows if not r[0].endswith(skip)][:16]
    return {
        "per_load_ms": per_load * 1000,
        "top": [
            {"function": n, "cum_share": c, "self_share": s, "calls_per_load": k}
            for n, c, s, k in top
        ],
        "yaml_split_us": _yaml_split(mods["yaml"]),
    }


def _short(filename: str) -> str:
    for marker in ("/src/", "site-packages/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return os.path.basename(filename)


def _yaml_split(path: str) -> dict[str, float]:
    """The 50-field YAML file: envconf's parser vs PyYAML's C loader and C composer (us)."""
    import yaml

    from envconf.load.formats import parse_structured

    data = Path(path).read_bytes()
    loader = yaml.CSafeLoader
    variants = {
        "envconf parse_structured (C parser events, composed in Python, lines kept)": (
            lambda: parse_structured(data, path, "yaml")
        ),
        "yaml.load with CSafeLoader (the floor's parse)": lambda: yaml.load(data, Loader=loader),
        "yaml.compose with CSafeLoader (nodes with marks, no construction)": (
            lambda: yaml.compose(data, Loader=loader)
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(21):
        for name, fn in variants.items():
            samples[name].append(timeit.timeit(fn, number=50) / 50 * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


# --- render -------------------------------------------------------------------------------


def render_profile(work_root: Path) -> dict[str, Any]:
    from envconf.render.command import RenderOptions, render_all
    from envconf.render.writer import write_outputs

    root = work_root / "render"
    env = {**os.environ, **template_env()}
    out_dir = root / "out-profile"
    out_dir.mkdir(exist_ok=True)
    options = RenderOptions(template_dir=str(root / "templates-envsubst"), output_dir=str(out_dir))
    outputs = render_all(options, env)

    def render() -> Any:
        return render_all(options, env)

    def write() -> None:
        write_outputs(outputs, out_dir, lambda message: None)

    real_fsync = os.fsync

    def write_no_fsync() -> None:
        os.fsync = lambda fd: None
        try:
            write()
        finally:
            os.fsync = real_fsync

    result: dict[str, Any] = {}
    samples: dict[str, list[float]] = {"render": [], "write": [], "write_no_fsync": []}
    fns = {"render": render, "write": write, "write_no_fsync": write_no_fsync}
    for _ in range(15):
        for name, fn in fns.items():
            samples[name].append(timeit.timeit(fn, number=1) * 1000)
    result["envsubst"] = {f"{k}_ms": statistics.median(v) for k, v in samples.items()}
    result["envsubst"]["files"] = len(outputs)
    result["jinja_big"] = _jinja_split(root / "templates-jinja" / "big.conf.j2", env)
    result["jinja_cache"] = _jinja_cache(root / "templates-jinja", root / "jinja-cache", env)
    return result


def _jinja_cache(templates: Path, cache: Path, env: dict[str, str]) -> dict[str, float]:
    """All 21 templates through jinja2 with and without a warm FileSystemBytecodeCache."""
    import shutil

    import jinja2

    names = sorted(p.name for p in templates.iterdir())

    def run(bytecode_cache: Any) -> float:
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            bytecode_cache=bytecode_cache,
        )
        begin = time.perf_counter()
        for name in names:
            environment.get_template(name).render(env)
        return (time.perf_counter() - begin) * 1000

    samples: dict[str, list[float]] = {"no cache": [], "warm bytecode cache": []}
    for _ in range(5):
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        samples["no cache"].append(run(None))
        run(jinja2.FileSystemBytecodeCache(str(cache)))  # fills the cache
        samples["warm bytecode cache"].append(run(jinja2.FileSystemBytecodeCache(str(cache))))
    return {name: statistics.median(values) for name, values in samples.items()}


def _jinja_split(path: Path, env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    import jinja2
    from jinja2 import nodes

    from envconf.fileread import FileVariables
    from envconf.jinja_engine import jinja_environment, render_jinja

    imported = time.perf_counter() - start
    text = path.read_text()
    label = str(path)
    resolver = FileVariables(env)
    samples: dict[str, list[float]] = {}

    def timed(name: str, fn: Any) -> Any:
        begin = time.perf_counter()
        value = fn()
        samples.setdefault(name, []).append((time.perf_counter() - begin) * 1000)
        return value

    sandbox = jinja_environment()
    plain = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    for _ in range(5):
        ast = timed("envconf: parse", lambda: sandbox.parse(text))
        timed("one walk of the AST (find_all(Name))", lambda a=ast: _walk(a, nodes))
        tpl = timed("envconf: compile from AST", lambda a=ast: sandbox.from_string(a))
        timed("envconf: render", lambda t=tpl: t.render(env))
        timed("envconf: render_jinja, all of it", lambda: render_jinja(text, label, resolver))
        source = timed("floor: parse + generate Python", lambda: plain.compile(text, raw=True))
        timed("floor: compile generated Python", lambda s=source: compile(s, "t", "exec"))
        tpl = timed("floor: from_string (all of it)", lambda: plain.from_string(text))
        timed("floor: render", lambda t=tpl: t.render(env))
    out = {name: statistics.median(values) for name, values in samples.items()}
    out["import jinja2 + sandbox (first time)"] = imported * 1000
    return out


def _walk(ast: Any, nodes: Any) -> int:
    return sum(1 for _ in ast.find_all(nodes.Name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    (args.work / "render" / "out-profile").mkdir(parents=True, exist_ok=True)
    log("profile: import times")
    result: dict[str, Any] = {
        "imports": {
            "python -c pass": importtime(["-c", "pass"]),
            "import pydantic_settings": importtime(["-c", "import pydantic_settings"]),
            # Not "envconf.Settings": its lazy importlib.import_module() is invisible to
            # -X importtime, and so would be envconf.settings' own time.
            "import envconf.settings": importtime(["-c", "import envconf.settings"]),
            "envconf render (envsubst templates)": importtime(
                [
                    "-m",
                    "envconf",
                    "render",
                    "--check",
                    "--template-dir",
                    str(args.work / "render" / "templates-envsubst"),
                    "--output-dir",
                    str(args.work / "render" / "out-profile"),
                ]
            ),
        }
    }
    result["own_import"] = own_import()
    log("profile: app start phases")
    result["app_phases"] = app_phases(args.work)
    log("profile: one load under cProfile, and what-ifs")
    result["load"] = load_profile(args.work)
    log("profile: render")
    result["render"] = render_profile(args.work)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
