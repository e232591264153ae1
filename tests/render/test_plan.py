"""Template discovery: suffixes, SRC:DEST, the output-dir guard and template-dir trees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from envconf.errors import RenderError
from envconf.render.plan import ENGINE_SUFFIXES, TemplateJob, plan_jobs


def write(path: Path, text: str = "x", mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def problems_of(exc: pytest.ExceptionInfo[RenderError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


# --- -t SRC[:DEST] ---------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "engine"), sorted(ENGINE_SUFFIXES.items()))
def test_known_suffix_is_stripped_and_picks_the_engine(
    tmp_path: Path, suffix: str, engine: str
) -> None:
    src = write(tmp_path / f"app.conf{suffix}")
    [job] = plan_jobs([str(src)], None, None)
    assert job == TemplateJob(str(src), str(tmp_path / "app.conf"), engine, 0o644)


def test_src_dest_is_split_on_the_first_colon(tmp_path: Path) -> None:
    src = write(tmp_path / "app.tmpl")
    [job] = plan_jobs([f"{src}:{tmp_path}/a:b.conf"], None, None)
    assert Path(job.dest) == tmp_path / "a:b.conf"


def test_explicit_dest_without_output_dir_is_taken_as_given(tmp_path: Path) -> None:
    src = write(tmp_path / "t" / "app.j2")
    [job] = plan_jobs([f"{src}:/etc/app.conf"], None, None)
    assert Path(job.dest) == Path("/etc/app.conf")


def test_engine_override_still_strips_a_known_suffix(tmp_path: Path) -> None:
    src = write(tmp_path / "nginx.conf.template")
    [job] = plan_jobs([str(src)], None, None, engine="jinja")
    assert (Path(job.dest), job.engine) == (tmp_path / "nginx.conf", "jinja")


def test_engine_override_with_unknown_suffix_needs_a_dest(tmp_path: Path) -> None:
    src = write(tmp_path / "app.conf")
    with pytest.raises(RenderError) as exc:
        plan_jobs([str(src)], None, None, engine="envsubst")
    [problem] = problems_of(exc)
    assert str(src) in problem and "SRC:DEST" in problem
    [job] = plan_jobs([f"{src}:{tmp_path / 'app.out'}"], None, None, engine="envsubst")
    assert job.engine == "envsubst"


def test_unknown_suffix_without_engine_is_an_error_naming_the_template(tmp_path: Path) -> None:
    src = write(tmp_path / "app.conf.in")
    with pytest.raises(RenderError) as exc:
        plan_jobs([str(src)], None, None)
    [problem] = problems_of(exc)
    assert str(src) in problem and "'.in'" in problem and "--engine" in problem


def test_unknown_engine_is_an_error(tmp_path: Path) -> None:
    src = write(tmp_path / "a.j2")
    with pytest.raises(RenderError, match="unknown engine 'mako'"):
        plan_jobs([str(src)], None, None, engine="mako")


def test_missing_template_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as exc:
        plan_jobs([str(tmp_path / "nope.j2")], None, None)
    assert problems_of(exc) == [f"template {tmp_path / 'nope.j2'}: no such file"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    odd = write(tmp_path / "a.txt")
    good = write(tmp_path / "ok.j2")
    with pytest.raises(RenderError) as exc:
        plan_jobs([str(tmp_path / "missing.j2"), str(odd), str(good)], None, None)
    problems = problems_of(exc)
    assert len(problems) == 2
    assert "missing.j2" in problems[0] and "a.txt" in problems[1]


def test_dest_equal_to_the_template_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "a.j2")
    with pytest.raises(RenderError, match="is the template itself"):
        plan_jobs([f"{src}:{src}"], None, None)


def test_mode_defaults_to_the_template_mode_and_can_be_overridden(tmp_path: Path) -> None:
    src = write(tmp_path / "a.j2", mode=0o640)
    assert plan_jobs([str(src)], None, None)[0].mode == 0o640
    assert plan_jobs([str(src)], None, None, mode=0o600)[0].mode == 0o600


def test_mode_out_of_range_is_an_error(tmp_path: Path) -> None:
    src = write(tmp_path / "a.j2")
    with pytest.raises(RenderError, match="out of range"):
        plan_jobs([str(src)], None, None, mode=0o10000)


# --- -t with --output-dir --------------------------------------------------------------


def test_missing_dest_goes_into_output_dir_by_file_name(tmp_path: Path, out: Path) -> None:
    src = write(tmp_path / "t" / "app.conf.j2")
    [job] = plan_jobs([str(src)], None, str(out))
    assert Path(job.dest) == out / "app.conf"


def test_relative_dest_is_relative_to_output_dir(tmp_path: Path, out: Path) -> None:
    src = write(tmp_path / "app.j2")
    [job] = plan_jobs([f"{src}:conf.d/app.conf"], None, str(out))
    assert Path(job.dest) == out / "conf.d" / "app.conf"


def test_absolute_dest_inside_output_dir_is_fine(tmp_path: Path, out: Path) -> None:
    src = write(tmp_path / "app.j2")
    [job] = plan_jobs([f"{src}:{out}/app.conf"], None, str(out))
    assert Path(job.dest) == out / "app.conf"


def test_absolute_dest_outside_output_dir_is_refused(tmp_path: Path, out: Path) -> None:
    src = write(tmp_path / "app.j2")
    with pytest.raises(RenderError) as exc:
        plan_jobs([f"{src}:/etc/passwd"], None, str(out))
    [problem] = problems_of(exc)
    assert str(src) in problem and "outside the output dir" in problem


@pytest.mark.parametrize("dest", ["../escape.conf", "sub/../../escape.conf", "a/../.."])
def test_dotdot_escape_from_output_dir_is_refused(tmp_path: Path, out: Path, dest: str) -> None:
    src = write(tmp_path / "app.j2")
    with pytest.raises(RenderError):
        plan_jobs([f"{src}:{dest}"], None, str(out))


def test_dotdot_that_stays_inside_output_dir_is_fine(tmp_path: Path, out: Path) -> None:
    src = write(tmp_path / "app.j2")
    [job] = plan_jobs([f"{src}:sub/../app.conf"], None, str(out))
    assert Path(job.dest) == out / "app.conf"


def test_symlinked_subdir_staying_inside_output_dir_is_resolved(tmp_path: Path, out: Path) -> None:
    src = write(tmp_path / "app.j2")
    (out / "v2").mkdir()
    (out / "current").symlink_to("v2")
    [job] = plan_jobs([f"{src}:current/app.conf"], None, str(out))
    assert Path(job.dest) == out / "v2" / "app.conf"


def test_output_dir_spelling_is_kept_when_it_is_a_symlink(tmp_path: Path, out: Path) -> None:
    src = write(tmp_path / "app.j2")
    (tmp_path / "out-link").symlink_to(out)
    [job] = plan_jobs([str(src)], None, str(tmp_path / "out-link"))
    assert Path(job.dest) == tmp_path / "out-link" / "app"


def test_symlinked_subdir_of_output_dir_leading_out_is_refused(tmp_path: Path, out: Path) -> None:
    src = write(tmp_path / "app.j2")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "link").symlink_to(elsewhere)
    with pytest.raises(RenderError, match="outside the output dir"):
        plan_jobs([f"{src}:link/app.conf"], None, str(out))


def test_missing_output_dir_is_an_error(tmp_path: Path) -> None:
    src = write(tmp_path / "app.j2")
    with pytest.raises(RenderError, match="not an existing directory"):
        plan_jobs([str(src)], None, str(tmp_path / "nope"))


def test_two_templates_for_one_destination_are_refused(tmp_path: Path, out: Path) -> None:
    a = write(tmp_path / "app.conf.j2")
    b = write(tmp_path / "app.conf.tmpl")
    with pytest.raises(RenderError) as exc:
        plan_jobs([str(a), str(b)], None, str(out))
    [problem] = problems_of(exc)
    assert str(a) in problem and str(b) in problem and str(out / "app.conf") in problem


# --- --template-dir --------------------------------------------------------------------


def test_template_dir_requires_output_dir(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="--output-dir is required"):
        plan_jobs([], str(tmp_path), None)


def test_template_dir_renders_the_tree_sorted_with_suffixes_removed(
    tmp_path: Path, out: Path
) -> None:
    tdir = tmp_path / "templates"
    write(tdir / "z.conf.tmpl")
    write(tdir / "a.conf.j2", mode=0o600)
    write(tdir / "conf.d" / "site.conf.template")
    write(tdir / "README.md")
    write(tdir / ".hidden.conf.tmpl")
    jobs = plan_jobs([], str(tdir), str(out))
    assert [(Path(j.source), Path(j.dest), j.engine) for j in jobs] == [
        (tdir / ".hidden.conf.tmpl", out / ".hidden.conf", "envsubst"),
        (tdir / "a.conf.j2", out / "a.conf", "jinja"),
        (tdir / "conf.d" / "site.conf.template", out / "conf.d" / "site.conf", "envsubst"),
        (tdir / "z.conf.tmpl", out / "z.conf", "envsubst"),
    ]
    assert jobs[1].mode == 0o600


def test_dotdot_entries_are_skipped(tmp_path: Path, out: Path) -> None:
    tdir = tmp_path / "templates"
    write(tdir / "..data" / "a.conf.tmpl")
    write(tdir / "..2025_01_01" / "b.conf.tmpl")
    write(tdir / "..c.conf.tmpl")
    write(tdir / "d.conf.tmpl")
    assert [Path(j.dest) for j in plan_jobs([], str(tdir), str(out))] == [out / "d.conf"]


def test_configmap_layout_renders_each_visible_name_once(tmp_path: Path, out: Path) -> None:
    tdir = tmp_path / "configmap"
    write(tdir / "..2025_01_01" / "app.conf.tmpl", mode=0o640)
    (tdir / "..data").symlink_to("..2025_01_01")
    (tdir / "app.conf.tmpl").symlink_to("..data/app.conf.tmpl")
    jobs = plan_jobs([], str(tdir), str(out))
    assert jobs == [
        TemplateJob(str(tdir / "app.conf.tmpl"), str(out / "app.conf"), "envsubst", 0o640)
    ]


def test_template_symlink_leaving_the_template_dir_is_refused(tmp_path: Path, out: Path) -> None:
    tdir = tmp_path / "templates"
    write(tdir / "ok.conf.tmpl")
    secret = write(tmp_path / "secret.conf.tmpl")
    (tdir / "leak.conf.tmpl").symlink_to(secret)
    with pytest.raises(RenderError) as exc:
        plan_jobs([], str(tdir), str(out))
    [problem] = problems_of(exc)
    assert str(tdir / "leak.conf.tmpl") in problem and "leaves template dir" in problem


def test_directory_symlink_leaving_the_template_dir_is_refused(tmp_path: Path, out: Path) -> None:
    tdir = tmp_path / "templates"
    write(tmp_path / "etc" / "x.conf.tmpl")
    tdir.mkdir()
    (tdir / "etc").symlink_to(tmp_path / "etc")
    with pytest.raises(RenderError, match="leaves template dir"):
        plan_jobs([], str(tdir), str(out))


def test_symlink_loop_in_the_template_dir_is_refused(tmp_path: Path, out: Path) -> None:
    tdir = tmp_path / "templates"
    write(tdir / "sub" / "a.conf.tmpl")
    (tdir / "sub" / "back").symlink_to("..")
    with pytest.raises(RenderError, match="symlink loop"):
        plan_jobs([], str(tdir), str(out))


def test_tree_destination_through_a_symlinked_output_subdir_is_refused(
    tmp_path: Path, out: Path
) -> None:
    tdir = tmp_path / "templates"
    write(tdir / "conf.d" / "site.conf.tmpl")
    (tmp_path / "elsewhere").mkdir()
    (out / "conf.d").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RenderError) as exc:
        plan_jobs([], str(tdir), str(out))
    [problem] = problems_of(exc)
    assert "site.conf.tmpl" in problem and "outside the output dir" in problem


def test_template_dir_itself_may_be_a_symlink(tmp_path: Path, out: Path) -> None:
    real = tmp_path / "real"
    write(real / "a.conf.j2")
    (tmp_path / "link").symlink_to(real)
    [job] = plan_jobs([], str(tmp_path / "link"), str(out))
    assert (Path(job.source), Path(job.dest)) == (tmp_path / "link" / "a.conf.j2", out / "a.conf")


def test_missing_template_dir_is_an_error(tmp_path: Path, out: Path) -> None:
    with pytest.raises(RenderError, match="nope"):
        plan_jobs([], str(tmp_path / "nope"), str(out))


def test_single_templates_come_before_the_tree(tmp_path: Path, out: Path) -> None:
    tdir = tmp_path / "templates"
    write(tdir / "a.conf.j2")
    single = write(tmp_path / "z.conf.j2")
    jobs = plan_jobs([f"{single}:other.conf"], str(tdir), str(out))
    assert [Path(j.dest) for j in jobs] == [out / "other.conf", out / "a.conf"]


def test_plan_does_not_touch_the_file_system(tmp_path: Path, out: Path) -> None:
    tdir = tmp_path / "templates"
    write(tdir / "sub" / "a.conf.j2")
    plan_jobs([], str(tdir), str(out))
    assert list(out.iterdir()) == []


def test_planning_and_writing_import_no_heavy_dependencies() -> None:
    """``envconf render`` starts fast: no pydantic, YAML or Jinja2 just to plan and write."""
    code = (
        "import sys, envconf.render.plan, envconf.render.writer;"
        "print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('pydantic', 'pydantic_settings', 'yaml', 'jinja2')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout.strip()) == (0, "[]"), proc.stderr


def test_self_referencing_symlinks_in_the_tree_are_errors_not_crashes(
    tmp_path: Path, out: Path
) -> None:
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "loop.conf.tmpl").symlink_to("loop.conf.tmpl")
    (tdir / "dirloop").symlink_to("dirloop")
    with pytest.raises(RenderError) as exc:
        plan_jobs([], str(tdir), str(out))
    [problem] = problems_of(exc)
    assert "loop.conf.tmpl" in problem and "broken symlink" in problem
