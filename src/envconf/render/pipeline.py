"""Render every template in memory: the engines, the settings as data, every problem at once.

Shared by the exec path (:mod:`envconf.render.command`) and ``--init``/``--watch``
(:mod:`envconf.watch.render`). Nothing here imports pydantic unless ``--settings`` is
given, nor jinja2 unless a Jinja template is rendered.
"""

from __future__ import annotations

from envconf.errors import Problem, RenderError
from envconf.fileread import MAX_TEMPLATE_BYTES, FileReadError, FileVariables, read_regular
from envconf.records import TYPE_CHECKING
from envconf.redact import MASK, Redactor
from envconf.text import log

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, NamedTuple

    from envconf.render.options import RenderOptions
    from envconf.render.writer import Output
else:
    from envconf.records import NamedTuple

__all__ = ["TemplateSettings", "load_template_settings", "log", "log_warning", "render_all"]


def log_warning(message: str) -> None:
    log(f"warning: {message}")


class TemplateSettings(NamedTuple):
    """The typed settings as a template sees them (data only) and the secrets among them."""

    data: dict[str, Any]
    secrets: list[str]


def load_template_settings(spec: str, env: Mapping[str, str]) -> TemplateSettings:
    """Import and load ``--settings`` and turn the object into template data.

    Raises:
        UsageError: the class cannot be imported (exit 2).
        ConfigError: the settings are invalid (exit 1).
    """
    from envconf.jinja_engine import data_only
    from envconf.load.report import secret_values
    from envconf.tools.target import import_settings_class

    settings = import_settings_class(spec).load(env=env)
    return TemplateSettings(data_only(settings), secret_values(settings))


def render_all(
    options: RenderOptions,
    env: Mapping[str, str],
    settings: TemplateSettings | None = None,
    *,
    variables: FileVariables | None = None,
) -> list[Output]:
    """Plan and render every template in memory; raise one RenderError listing every problem.

    ``variables`` (over ``env``) lets ``--watch`` see which ``VAR_FILE`` targets were read.
    """
    from envconf.render.plan import plan_jobs
    from envconf.render.writer import Output
    from envconf.templating import TemplateFailed, render_envsubst, template_problem

    jobs = plan_jobs(
        options.template, options.template_dir, options.output_dir, options.engine, options.mode
    )
    if options.template_dir and len(jobs) == len(options.template):
        # A template dir with nothing to render is usually a volume that was not mounted.
        message = f"template dir {options.template_dir} holds no template (is it mounted?)"
        if options.strict:
            raise RenderError([Problem("", message + "; --strict makes this an error")])
        log_warning(message)
    if variables is None:
        variables = FileVariables(env)
    name_filter = None
    if options.filter:
        import re  # only for a name filter: the envsubst path starts without it

        name_filter = re.compile(options.filter)
    extra = {"settings": settings.data} if settings is not None else None
    cache = None
    if options.cache_dir and any(job.engine == "jinja" for job in jobs):
        from envconf.render.jinja_cache import JinjaCache

        cache = JinjaCache(options.cache_dir, log_warning)
    outputs: list[Output] = []
    problems: list[Problem] = []
    for job in jobs:
        label = str(job.source)
        try:
            data = read_regular(label, MAX_TEMPLATE_BYTES, "template")
            text = data.decode("utf-8")
        except FileReadError as exc:
            problems.append(Problem("", str(exc).removeprefix(f"{label}: "), "", label))
            continue
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            problems.append(template_problem(label, line, "not valid UTF-8"))
            continue
        try:
            if job.engine == "jinja":
                from envconf.jinja_engine import render_jinja

                rendered = render_jinja(text, label, variables, extra, cache)
            else:
                rendered = render_envsubst(
                    text, label, variables, name_filter=name_filter, strict=options.strict
                )
        except TemplateFailed as exc:
            problems.extend(exc.problems)
            continue
        if settings is not None and MASK in rendered and MASK not in text:
            # A SecretStr renders as its mask: almost always a template that wanted the value.
            log_warning(
                f"{label} writes {MASK} (a secret field renders masked); write"
                " {{ settings.KEY.get_secret_value() }} to put the value in the file"
            )
        outputs.append(Output(job.dest, rendered.encode("utf-8"), job.mode))
    if problems:
        secrets = [*variables.secret_texts(), *(settings.secrets if settings else [])]
        raise RenderError(problems, Redactor(secrets))
    return outputs
