"""Workloads 1 and 2: one settings load in-process, envconf vs its peers, at several sizes.

Run inside the peers venv (``make bench`` does): every library is imported in this one
interpreter, every result is checked equal to the expected values before timing, then
each candidate is timed as an app calls it.

    python bench/settings_bench.py --work DIR --out results.json [--sizes 50 10 100 1000]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import compare_inprocess, log
from workload import DELIM, PREFIX, SettingsWorkload, settings_workload

FLAVOURS = ("plain", "envconf", "pydantic")


def normalise(value: Any) -> Any:
    """A settings object as plain data (secrets revealed) for the equality check."""
    from pydantic import BaseModel, SecretStr

    if isinstance(value, BaseModel):
        return {name: normalise(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    return value


def write_models(work: SettingsWorkload, root: Path) -> Path:
    """Write the YAML file and one model module per flavour into ``root``; return the YAML."""
    root.mkdir(parents=True, exist_ok=True)
    yaml_path = root / "config.yaml"
    yaml_path.write_text(work.yaml_text())
    for flavour in FLAVOURS:
        path = root / f"settings_{flavour}_{work.n}.py"
        path.write_text(work.module_source(flavour, str(yaml_path)))
    return yaml_path


def prepare(work: SettingsWorkload, root: Path) -> dict[str, Any]:
    """Write the workload's files and import its model modules."""
    yaml_path = write_models(work, root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    modules = {f: importlib.import_module(f"settings_{f}_{work.n}") for f in FLAVOURS}
    return {"yaml": str(yaml_path), **modules}


def set_environment(work: SettingsWorkload) -> None:
    """Make ``os.environ`` the machine's environment plus exactly this workload's vars."""
    for name in [n for n in os.environ if n.startswith(PREFIX)]:
        del os.environ[name]
    os.environ.update(work.environ())


# --- the candidates, each written the way its documentation tells an app to -----------------


def envconf_loader(mods: dict[str, Any], work: SettingsWorkload) -> Callable[[], Any]:
    cls, argv = mods["envconf"].Settings, work.argv_envconf()
    return lambda: cls.load(argv=argv)


def pydantic_app_loader(mods: dict[str, Any], work: SettingsWorkload) -> Callable[[], Any]:
    cls, argv = mods["pydantic"].Settings, work.argv_pydantic()
    return lambda: cls(_cli_parse_args=argv)


def pydantic_reused_loader(mods: dict[str, Any], work: SettingsWorkload) -> Callable[[], Any]:
    from pydantic_settings import CliSettingsSource

    cls, argv = mods["pydantic"].Settings, work.argv_pydantic()
    cli = CliSettingsSource(cls)  # parser built once, reused for each load
    return lambda: cls(_cli_settings_source=cli(args=argv))


def typed_settings_loader(mods: dict[str, Any], work: SettingsWorkload) -> Callable[[], Any]:
    import typed_settings as ts
    from typed_settings.loaders import EnvLoader, FileLoader, YamlFormat

    converter = ts.default_converter()
    ts.register_strlist_hook(converter, fn=json.loads)  # list env vars are JSON, as elsewhere
    loaders = [
        FileLoader(files=[mods["yaml"]], formats={"*.yaml": YamlFormat(None)}),
        EnvLoader(prefix=PREFIX, nested_delimiter=DELIM),
    ]

    @ts.cli(mods["plain"].Settings, loaders, converter=converter)
    def main(settings: Any) -> Any:
        return settings

    argv = ["app", *work.argv_typed()]

    def load() -> Any:
        saved, sys.argv = sys.argv, argv  # ts.cli parses sys.argv, as apps run it
        try:
            return main()
        finally:
            sys.argv = saved

    return load


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


def dynaconf_loader(mods: dict[str, Any], work: SettingsWorkload) -> Callable[[], Any]:
    from dynaconf import Dynaconf

    model, files, argv = mods["plain"].Settings, [mods["yaml"]], work.argv_pairs()

    def load() -> Any:
        settings = Dynaconf(
            envvar_prefix=PREFIX.rstrip("_"),
            settings_files=files,
            environments=False,
            load_dotenv=False,
        )
        for arg in argv:  # dynaconf has no CLI layer: apps set parsed flags themselves
            key, _, value = arg[2:].partition("=")
            settings.set(key, value)
        # Keys from nested env vars keep their case (DB.TIMEOUT): normalise, then validate.
        return model.model_validate(_lower_keys(settings.as_dict()))

    return load


def floor_loader(mods: dict[str, Any], work: SettingsWorkload) -> Callable[[], Any]:
    """Hand-written: CSafeLoader + one scan of the environment + CLI pairs + model_validate."""
    import yaml

    model, path, argv = mods["plain"].Settings, mods["yaml"], work.argv_pairs()
    loader = yaml.CSafeLoader
    prefix, cut = PREFIX, len(PREFIX)

    def put(data: dict[str, Any], dotted: list[str], value: Any) -> None:
        for part in dotted[:-1]:
            data = data.setdefault(part, {})
        data[dotted[-1]] = value

    def load() -> Any:
        with open(path, "rb") as handle:
            data = yaml.load(handle, Loader=loader) or {}
        for name, value in os.environ.items():
            if name.startswith(prefix):
                put(
                    data,
                    name[cut:].lower().split(DELIM),
                    json.loads(value) if value[:1] == "[" else value,
                )
        for arg in argv:
            key, _, value = arg[2:].partition("=")
            put(data, key.split("."), value)
        return model.model_validate(data)

    return load


CANDIDATES: dict[str, Callable[[dict[str, Any], SettingsWorkload], Callable[[], Any]]] = {
    "envconf": envconf_loader,
    "pydantic-settings (as apps call it)": pydantic_app_loader,
    "pydantic-settings (CLI parser reused)": pydantic_reused_loader,
    "typed-settings": typed_settings_loader,
    "dynaconf": dynaconf_loader,
    "floor (hand-written)": floor_loader,
}


def run_size(n: int, root: Path, runs: int) -> dict[str, Any]:
    work = settings_workload(n)
    mods = prepare(work, root / f"settings-{n}")
    set_environment(work)
    expected = work.expected()
    candidates: dict[str, Callable[[], Any]] = {}
    problems: dict[str, str] = {}
    for name, make in CANDIDATES.items():
        try:
            fn = make(mods, work)
            got = normalise(fn())
        except Exception as exc:  # a peer that cannot load this workload is reported
            problems[name] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        if got != expected:
            diff = sorted(k for k in expected if got.get(k) != expected[k])
            problems[name] = f"result differs from the expected values at {diff[:5]}"
            continue
        candidates[name] = fn
    for name, why in problems.items():
        log(f"settings n={n}: {name} left out: {why}")
    log(f"settings n={n}: timing {len(candidates)} candidates, {runs} rounds")
    timings = compare_inprocess(candidates, runs=runs)
    return {
        "n": n,
        "yaml_keys": len(work.yaml_values),
        "env_vars": len(work.env_values),
        "cli_flags": len(work.cli_values),
        "timings": timings,
        "excluded": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 10, 100, 1000])
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    results = [run_size(n, args.work, args.runs) for n in args.sizes]
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
