"""Turn bench/results/*.json into docs/performance.md (run by bench/run.py).

The hand-written analysis in ``bench/findings.md`` is included as it is, below the
generated tables and verdicts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

ENVCONF = "envconf"
PS_APP = "pydantic-settings (as apps call it)"
FLOOR = "floor (hand-written)"
#: pydantic-settings' 50-field load on the machine the issue's targets were set on (s).
ISSUE_PS_50 = 0.0072


def ms(seconds: float) -> str:
    value = seconds * 1000
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def timing_table(timings: dict[str, Any], reference: str, ratio_label: str) -> list[str]:
    """A table of median/min/max (ms) and the reference's ratio to each row."""
    ref = timings[reference]
    lines = [
        f"| | median ms | min ms | max ms | runs | {ratio_label} (median) | (min) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, t in timings.items():
        if name == reference:
            cells = ["—", "—"]
        else:
            cells = [ratio(ref["median"], t["median"]), ratio(ref["min"], t["min"])]
        lines.append(
            f"| {name} | {ms(t['median'])} | {ms(t['min'])} | {ms(t['max'])} | {t['runs']} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def describe(timings: dict[str, Any]) -> str:
    """How a whole-process table was timed."""
    first = next(iter(timings.values()))
    rounds, runs = first.get("rounds", 1), first["runs"]
    if first["tool"] == "hyperfine":
        how = "hyperfine (`-N`), one invocation per round with every command"
    else:
        how = "a Python loop alternating the commands run by run"
    return (
        f"{how}, the order rotated each round: {rounds} rounds of {runs // rounds} runs, "
        f"{first.get('warmup', 0)} warm-up run(s) per command per round"
    )


def machine(meta: dict[str, Any]) -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for dist in (
        "envconf",
        "pydantic",
        "pydantic-core",
        "pydantic-settings",
        "PyYAML",
        "Jinja2",
        "dynaconf",
        "typed-settings",
        "cattrs",
        "jinjanator",
        "envtpl",
    ):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    try:
        import yaml

        libyaml = "with libyaml" if yaml.__with_libyaml__ else "WITHOUT libyaml"
    except ImportError:
        libyaml = "PyYAML missing"
    tools = []
    for argv in (["hyperfine", "--version"], ["envsubst", "--version"]):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
            tools.append(out.splitlines()[0].strip() if out else f"{argv[0]}: no output")
        except OSError:
            tools.append(f"{argv[0]}: not installed")
    commit = meta.get("commit") or _git(["rev-parse", "--short", "HEAD"])
    dirty = meta.get("src_dirty") if "src_dirty" in meta else _git(["status", "--porcelain"])
    return [
        f"- CPU: {model}, {os.cpu_count()} logical cores (`nproc`); 1-minute load average "
        f"{meta.get('load_start', '?')} at the start, {meta.get('load_end', '?')} at the end "
        "(other jobs share this machine)",
        f"- OS: {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()} ({sys.implementation.name})",
        f"- Libraries: {', '.join(versions)}; PyYAML {libyaml}",
        f"- Tools: {'; '.join(tools)}",
        f"- envconf source: commit {commit}"
        + (" with uncommitted changes in src/" if dirty else "")
        + f"; run finished {meta.get('finished', '?')}",
    ]


def _git(args: list[str]) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO)
        return done.stdout.strip()
    except OSError:
        return ""


def build(results: Path, quick: bool) -> tuple[list[str], list[str]]:
    """Return (summary lines, detail lines)."""
    settings = json.loads((results / "settings.json").read_text())
    process = json.loads((results / "process.json").read_text())
    profile_path = results / "profile.json"
    profile = json.loads(profile_path.read_text()) if profile_path.exists() else None
    failures = json.loads((results / "install-failures.json").read_text())
    by_n = {entry["n"]: entry for entry in settings}
    summary: list[str] = [
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    detail: list[str] = []

    # --- workload 1 -------------------------------------------------------------------
    w1 = by_n[50]["timings"]
    env_med = w1[ENVCONF]["median"]
    r_ps = env_med / w1[PS_APP]["median"]
    r_floor = env_med / w1[FLOOR]["median"]
    summary.append(
        f"| load, 50 fields: <= 0.15x pydantic-settings as apps call it | "
        f"{r_ps:.3f}x ({ms(env_med)} vs {ms(w1[PS_APP]['median'])} ms) | {verdict(r_ps <= 0.15)} |"
    )
    if 1000 in by_n:
        w1000 = by_n[1000]["timings"]
        r_1000 = w1000[ENVCONF]["median"] / w1000[PS_APP]["median"]
        summary.append(
            f"| load, 1000 fields: <= 0.15x pydantic-settings as apps call it | {r_1000:.3f}x "
            f"({ms(w1000[ENVCONF]['median'])} vs {ms(w1000[PS_APP]['median'])} ms) | "
            f"{verdict(r_1000 <= 0.15)} |"
        )
    summary.append(
        f"| load, 50 fields: <= 4x the hand-written floor | "
        f"{r_floor:.2f}x ({ms(env_med)} vs {ms(w1[FLOOR]['median'])} ms) | "
        f"{verdict(r_floor <= 4)} |"
    )
    detail += [
        "## 1. Settings load, 50 fields, in-process",
        "",
        f"YAML sets {by_n[50]['yaml_keys']} keys, {by_n[50]['env_vars']} prefixed env vars "
        f"(two nested with `__`, one the SecretStr), {by_n[50]['cli_flags']} CLI flags (one "
        "nested, one overriding an env var). Every result was checked equal to the expected "
        "values before timing. One sample is the mean of a `timeit` batch (garbage collection "
        "on) sized to ~50 ms; candidates alternate round by round.",
        "",
        *timing_table(w1, ENVCONF, "envconf/peer"),
        "",
    ]
    if by_n[50]["excluded"]:
        detail += [f"- left out: {k}: {v}" for k, v in by_n[50]["excluded"].items()] + [""]

    # --- workload 2 -------------------------------------------------------------------
    sizes = sorted(by_n)
    names = list(by_n[sizes[0]]["timings"])
    detail += [
        "## 2. Scaling: per-load time (median ms) by number of fields",
        "",
        "| library | " + " | ".join(f"{n} fields" for n in sizes) + " | growth 100 -> 1000 |",
        "|---|" + "---:|" * (len(sizes) + 1),
    ]
    for name in names:
        cells = [
            ms(by_n[n]["timings"][name]["median"]) if name in by_n[n]["timings"] else "—"
            for n in sizes
        ]
        growth = "—"
        if 100 in by_n and 1000 in by_n and name in by_n[100]["timings"]:
            a = by_n[100]["timings"][name]["median"]
            b = by_n[1000]["timings"].get(name, {}).get("median")
            growth = f"{b / a:.1f}x" if b else "—"
        detail.append(f"| {name} | " + " | ".join(cells) + f" | {growth} |")

    def vs(n: int, peer: str) -> str:
        return ratio(by_n[n]["timings"][ENVCONF]["median"], by_n[n]["timings"][peer]["median"])

    detail += [
        "",
        "envconf/peer ratios (medians): "
        + "; ".join(
            f"{n} fields: vs pydantic-settings {vs(n, PS_APP)}, vs floor {vs(n, FLOOR)}"
            for n in sizes
        ),
        "",
    ]
    if 1000 in by_n and 100 in by_n:
        t1000 = by_n[1000]["timings"][ENVCONF]["median"]
        t100 = by_n[100]["timings"][ENVCONF]["median"]
        exponent = math.log(t1000 / t100, 10)
        floor_growth = (
            by_n[1000]["timings"][FLOOR]["median"] / by_n[100]["timings"][FLOOR]["median"]
        )
        # The 20 ms was set on the issue's machine, where this load cost pydantic-settings
        # 7.2 ms; on a slower or busier machine the limit scales with that yardstick.
        scale = max(1.0, w1[PS_APP]["median"] / ISSUE_PS_50)
        linear = exponent <= 1.1
        if t1000 <= 0.020 and linear:
            mark = verdict(True)
        elif t1000 <= 0.020 * scale and linear:
            mark = "**met** (with the limit scaled)"
        else:
            mark = verdict(False)
        summary.append(
            f"| linear growth, 1000 fields <= 20 ms | {ms(t1000)} ms (limit scaled to this "
            f"run: 20 ms x {scale:.2f} = {20 * scale:.0f} ms); 100 -> 1000 fields "
            f"x{t1000 / t100:.1f}, exponent {exponent:.2f} (floor x{floor_growth:.1f}) | {mark} |"
        )

    # --- workload 3 -------------------------------------------------------------------
    w3 = process["app_start"]["timings"]
    r_app = w3["envconf app"]["median"] / w3["pydantic-settings app"]["median"]
    history = _app_start_history(results)
    earlier = ", ".join(f"{h['ratio']:.2f}x ({h['commit']})" for h in history[-3:-1])
    summary.append(
        f"| app start, 50 fields: <= 0.95x a plain pydantic-settings app, in each of three "
        f"consecutive runs | {r_app:.2f}x "
        f"({ms(w3['envconf app']['median'])} vs {ms(w3['pydantic-settings app']['median'])} ms)"
        f"{'; the two runs before: ' + earlier if earlier else ''}"
        f" | {verdict(all(h['ratio'] <= 0.95 for h in history[-3:]) and len(history) >= 3)} |"
    )
    detail += [
        "## 3. Whole app start: import, load 50 fields once (YAML + env + CLI), exit",
        "",
        f"Timed with {describe(w3)}. Each app's result was checked first. The import-only "
        "rows show where the time goes.",
        "",
        *timing_table(w3, "envconf app", "envconf app/row"),
        "",
    ]

    # --- workload 4 -------------------------------------------------------------------
    w4 = process["render_envsubst"]
    t4 = w4["timings"]
    heavy = w4["imports"]["heavy"]
    first4 = w4.get("first_start", {})
    bare_name = "bare envsubst loop (one envsubst per file)"
    for label, timings in (("restart: outputs in place", t4), ("first start", first4)):
        bare = timings.get(bare_name)
        if bare:
            r_bare = timings["envconf render"]["median"] / bare["median"]
            summary.append(
                f"| render, envsubst engine, 21 files ({label}): <= 1.0x a bare loop of one "
                f"envsubst per file | {r_bare:.2f}x "
                f"({ms(timings['envconf render']['median'])} vs {ms(bare['median'])} ms) | "
                f"{verdict(r_bare <= 1.0)} |"
            )
    nginx = t4.get("nginx-style envsubst loop")
    if nginx:
        r_env = t4["envconf render"]["median"] / nginx["median"]
        summary.append(
            f"| render, envsubst engine, 21 files: <= 1.0x the nginx-style envsubst loop | "
            f"{r_env:.2f}x ({ms(t4['envconf render']['median'])} vs {ms(nginx['median'])} ms)"
            f" | {verdict(r_env <= 1.0)} |"
        )
    else:
        summary.append(
            "| render, envsubst engine: <= 1.0x the nginx-style loop | envsubst not installed | — |"
        )
    summary.append(
        "| `envconf render` (envsubst) imports neither pydantic, jinja2 nor yaml | "
        f"heavy imports: {', '.join(heavy) if heavy else 'none'} | {verdict(not heavy)} |"
    )
    sizes4 = w4["template_bytes"]
    detail += [
        "## 4. Render, envsubst engine: 21 templates to an output dir",
        "",
        f"{sizes4['files'] - 1} nginx-like templates of ~{sizes4['small_median'] / 1000:.1f} KB "
        f"with ~10 `${{VAR}}` references each (plus nginx's own `$host` etc., which must "
        f"survive) and one of {sizes4['largest'] / 1000:.0f} KB. The nginx-style loop is "
        "`bench/scripts/nginx-envsubst.sh`: defined variable names from awk's ENVIRON, one "
        "`envsubst` per file, as the official image's `20-envsubst-on-templates.sh` does; "
        "the bare loop (`bench/scripts/bare-envsubst.sh`) is only the `envsubst` per file, "
        "the variable names precomputed. "
        "Outputs of all three were checked byte-identical to the expected text first; "
        f"timed with {describe(t4)}. "
        f"`envconf render` imported {w4['imports']['modules']} top-level packages "
        f"(heavy ones: {', '.join(heavy) if heavy else 'none'}).",
        "",
        "Restart: the output dirs keep the previous run's files, as a restarted container "
        "keeps its writable layer (envconf leaves a file that is already right untouched; "
        "the loops rewrite every file):",
        "",
        *timing_table(t4, "envconf render", "envconf/row"),
        "",
        *(
            [
                "First start: every output dir emptied, untimed, before each run:",
                "",
                *timing_table(first4, "envconf render", "envconf/row"),
                "",
            ]
            if first4
            else []
        ),
        *[f"- left out: {k}: {v}" for k, v in w4.get("excluded", {}).items()],
    ]

    # --- workload 5 -------------------------------------------------------------------
    w5 = process["render_jinja"]
    t5 = w5["timings"]
    env5 = t5["envconf render (jinja)"]["median"]
    floor5 = t5["floor: minimal one-process jinja2 script"]["median"]
    summary.append(
        f"| render, Jinja2 engine, 21 files (restart): <= 1.0x a minimal one-process jinja2 "
        f"script | {env5 / floor5:.2f}x ({ms(env5)} vs {ms(floor5)} ms) | "
        f"{verdict(env5 / floor5 <= 1.0)} |"
    )
    first5 = w5.get("first_start", {})
    if first5:
        e5 = first5["envconf render (jinja)"]["median"]
        f5 = first5["floor: minimal one-process jinja2 script"]["median"]
        summary.append(
            f"| render, Jinja2 engine, 21 files (first start): <= 1.0x a minimal one-process "
            f"jinja2 script | {e5 / f5:.2f}x ({ms(e5)} vs {ms(f5)} ms) | "
            f"{verdict(e5 / f5 <= 1.0)} |"
        )
    jn = t5.get("jinjanator, once per file")
    if jn:
        summary.append(
            f"| render, Jinja2 engine: <= 0.1x jinjanator run once per file | "
            f"{env5 / jn['median']:.3f}x ({ms(env5)} vs {ms(jn['median'])} ms) | "
            f"{verdict(env5 / jn['median'] <= 0.1)} |"
        )
    else:
        summary.append("| render, Jinja2 engine: <= 0.1x jinjanator | jinjanator unavailable | — |")
    warm = t5.get("envconf render (jinja, warm --cache-dir)")
    if warm:
        summary.append(
            f"| (opt-in) render, Jinja2, warm `--cache-dir`: <= 1.0x the one-process script | "
            f"{warm['median'] / floor5:.2f}x ({ms(warm['median'])} vs {ms(floor5)} ms) | "
            f"{verdict(warm['median'] / floor5 <= 1.0)} |"
        )
    detail += [
        "## 5. Render, Jinja2 engine: the same 21 templates as `.j2`",
        "",
        "`bench/scripts/floor_jinja.py` is the floor: one process, `jinja2.Environment` with "
        "`StrictUndefined`, the environment as context. jinjanator and envtpl run once per "
        "file from `bench/scripts/per-file.sh`, as entrypoint scripts call them. All outputs "
        f"were checked identical first; timed with {describe(t5)}.",
        "",
        *timing_table(t5, "envconf render (jinja)", "envconf/row"),
        "",
        *(
            [
                "First start (envconf and the floor, output dirs emptied before each run):",
                "",
                *timing_table(first5, "envconf render (jinja)", "envconf/row"),
                "",
            ]
            if first5
            else []
        ),
    ]
    for name, why in w5.get("excluded", {}).items():
        detail.append(f"- left out: {name}: {why}")

    replica_path = results / "replica.json"
    if replica_path.exists():
        summary_rows, detail_rows = replica_section(json.loads(replica_path.read_text()))
        summary += summary_rows
        detail += detail_rows

    if failures:
        detail += ["", "Peers that failed to install (left out):", ""]
        detail += [f"- {k}: {v}" for k, v in failures.items()]
        detail.append("")

    if profile:
        detail += profile_section(profile)
    if quick:
        summary.append("| (quick run: fewer samples than the targets were set with) | | |")
    return summary, detail


def _app_start_history(results: Path) -> list[dict[str, Any]]:
    """The app-start ratio of each full run so far, oldest first (bench/run.py appends)."""
    path = results / "history.json"
    return json.loads(path.read_text()) if path.exists() else []


REPLICA_ALONE = "app alone (python -m webapp)"
REPLICA_EXEC = "envconf render, then exec the app"
REPLICA_INPROC = "envconf render --in-process"


def replica_section(replica: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Workload 6: CPU seconds per container start, with and without the render."""
    cpu = replica["cpu"]
    alone = cpu[REPLICA_ALONE]["median"]
    added = {name: cpu[name]["median"] - alone for name in (REPLICA_EXEC, REPLICA_INPROC)}
    summary = [
        f"| per replica: render (`--settings`, Jinja) adds <= 0.05 CPU-s to a Python app's "
        f"start, with `--in-process` | +{added[REPLICA_INPROC]:.3f} CPU-s "
        f"({cpu[REPLICA_INPROC]['median']:.3f} vs {alone:.3f}); exec'ing a second "
        f"interpreter: +{added[REPLICA_EXEC]:.3f} | {verdict(added[REPLICA_INPROC] <= 0.05)} |"
    ]
    rows = [
        "| | CPU s (median) | min | max | starts | added to the app alone "
        "| ready after (median ms) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, stats in cpu.items():
        extra = "—" if name == REPLICA_ALONE else f"+{stats['median'] - alone:.3f} s"
        rows.append(
            f"| {name} | {stats['median']:.3f} | {stats['min']:.3f} | {stats['max']:.3f} | "
            f"{stats['runs']} | {extra} | {ms(replica['ready'][name]['median'])} |"
        )
    detail = [
        "## 6. Per replica: the CPU a container start costs (examples/webapp)",
        "",
        "The example web service starts until it logs `listening on`, then gets SIGTERM; "
        "the CPU is the process's own user + system time from `wait4` (the render and the "
        "app share the PID, exec'd or in-process). The app alone reads a logging config "
        "rendered beforehand; the two others render it (`--settings "
        "webapp.settings:AppSettings`, the Jinja template) first, as the image's "
        "entrypoint does. The three ways alternate start by start.",
        "",
        *rows,
        "",
    ]
    return summary, detail


def profile_section(profile: dict[str, Any]) -> list[str]:
    out = [
        "## Where the time goes (profiles from the same run)",
        "",
        "### Import cost (`python -X importtime`, self time summed per top-level package, "
        "median of 7 fresh processes, ms)",
        "",
    ]
    imports = profile["imports"]
    for label, data in imports.items():
        top = ", ".join(f"{k} {v:.1f}" for k, v in list(data["packages"].items())[:10])
        out.append(f"- `{label}`: **{data['total_ms']:.1f} ms** in all; {top}")
        if data["envconf_modules"]:
            own = ", ".join(f"{k} {v:.1f}" for k, v in list(data["envconf_modules"].items())[:8])
            out.append(f"  - envconf's own modules: {data['envconf_total_ms']:.1f} ms ({own})")
    own = profile.get("own_import")
    if own:
        out += ["", "envconf's own import time (fresh processes, medians):", ""]
        out += [f"- {name}: {value:.1f} ms" for name, value in own.items()]
    out += [
        "",
        "### App start by phase (fresh processes, medians, ms)",
        "",
        "| | import | class definition | first load | second load | sum |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, phases in profile["app_phases"].items():
        values = list(phases.values())
        out.append(
            f"| {name} | " + " | ".join(f"{v:.1f}" for v in values) + f" | {sum(values[:3]):.1f} |"
        )
    load = profile["load"]
    out += [
        "",
        f"### One in-process load, 50 fields (cProfile, gc off; {load['per_load_ms']:.2f} ms "
        "per load unprofiled)",
        "",
        "| function | share of the load (cumulative) | own time | calls per load |",
        "|---|---:|---:|---:|",
    ]
    for row in load["top"]:
        out.append(
            f"| `{row['function']}` | {row['cum_share'] * 100:.0f}% | "
            f"{row['self_share'] * 100:.0f}% | {row['calls_per_load']:.0f} |"
        )
    out += [
        "",
        "The 50-field YAML file parsed alone (medians, microseconds per parse):",
        "",
        "| parser | us |",
        "|---|---:|",
    ]
    for name, value in load.get("yaml_split_us", {}).items():
        out.append(f"| {name} | {value:.0f} |")
    render = profile["render"]
    env = render["envsubst"]
    out += [
        "",
        f"### `envconf render` in-process, {env['files']} envsubst templates (medians, ms)",
        "",
        f"- render all templates in memory: {env['render_ms']:.1f}",
        f"- atomic writes as they are (temp file, fsync, rename, fsync of the dir, per file): "
        f"{env['write_ms']:.1f}",
        f"- the same writes with `os.fsync` stubbed out: {env['write_no_fsync_ms']:.1f}",
        "",
        "### Jinja2 on the 200 KB template (medians, ms)",
        "",
        "| step | ms |",
        "|---|---:|",
    ]
    for name, value in render["jinja_big"].items():
        out.append(f"| {name} | {value:.1f} |")
    cache = render.get("jinja_cache")
    if cache:
        out += [
            "",
            "All 21 templates through plain jinja2 in-process (load, compile, render; "
            f"medians): no cache {cache['no cache']:.1f} ms, warm `FileSystemBytecodeCache` "
            f"{cache['warm bytecode cache']:.1f} ms.",
        ]
    out.append("")
    return out


METHOD = [
    "## How each tool is called",
    "",
    "The code is in `bench/`: `workload.py` generates everything from a fixed seed, "
    "`settings_bench.py` (workloads 1-2), `process_bench.py` (3-5), `profile_bench.py` (the "
    "profiles above), `report.py` (this page); `bench/results/` keeps the raw JSON, "
    "hyperfine's exports and the generated files.",
    "",
    "- **envconf**: `Settings.load(argv=...)` on an `envconf.Settings` subclass with "
    "`env_prefix`, `env_nested_delimiter` and `config_files` (defaults otherwise, so the "
    "absent `/run/secrets` is looked for too); `envconf render --template-dir --output-dir`.",
    "- **pydantic-settings as apps call it**: a `BaseSettings` subclass whose "
    "`settings_customise_sources` returns init, env and `YamlConfigSettingsSource`, "
    "instantiated with `_cli_parse_args=argv` (so `CliSettingsSource` builds its argparse "
    "parser on each load). **CLI parser reused**: `CliSettingsSource(cls)` built once, then "
    "`cls(_cli_settings_source=cli(args=argv))`.",
    "- **typed-settings**: a `FileLoader` with `YamlFormat` and an `EnvLoader`, a converter "
    "with `register_strlist_hook(json.loads)`, and the `ts.cli` argparse decorator called "
    "with `sys.argv` set, as an app's `main()` runs (it builds the parser on each call).",
    "- **dynaconf**: `Dynaconf(envvar_prefix=..., settings_files=[yaml])`, CLI pairs set "
    "with `settings.set()` (dynaconf has no CLI layer), then `as_dict()` with keys "
    "lower-cased validated into the same pydantic model.",
    "- **floor**: `yaml.load(CSafeLoader)`, one scan of `os.environ` for the prefix, "
    "`--key=value` pairs, one `model_validate` on a plain pydantic model.",
    "- Every library gets the same values; results are compared to the expected values "
    "(secrets revealed) before any timing, and a library that fails is left out and named.",
    "",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "performance.md")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    findings = (HERE / "findings.md").read_text() if (HERE / "findings.md").exists() else ""
    meta_path = args.results / "meta.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    elapsed = meta.get("elapsed_s")
    summary, detail = build(args.results, args.quick or bool(meta.get("quick")))
    text = [
        "# Performance",
        "",
        "envconf runs at every container start and every app start. This page compares it "
        "with the tools users would pick instead, side by side in one run, and is generated "
        "by the benchmark itself: **do not edit it by hand** (the analysis at the end comes "
        "from `bench/findings.md`).",
        "",
        "Reproduce with **`make bench`** (creates `bench/.venv-peers` with the peers and "
        "envconf, runs `bench/run.py`, rewrites this page"
        + (f"; this run took {int(elapsed) // 60} min {int(elapsed) % 60} s" if elapsed else "")
        + "). Absolute times on a shared 2-core machine are noise; the **ratios** "
        "envconf/peer, taken between samples that alternate, are the result.",
        "",
        "## Targets",
        "",
        *summary,
        "",
        "## Machine",
        "",
        *machine(meta),
        "",
        *detail,
        *METHOD,
        findings,
    ]
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text("\n".join(text).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
