"""Release notes, rendered by towncrier with the project's own configuration.

relbot reads the fragments itself (once, safely: see ``relbot.fragments``) and
hands their text to towncrier's builder, template and writer, so the notes are
byte for byte what ``towncrier build`` would write. The one addition is
``fmt="md"``: a GitLab Release wants Markdown even where the changelog is
reStructuredText, so towncrier's own Markdown template renders the same
entries, with the fragments' RST inline markup translated (``relbot.markup``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relbot.config import Component
from relbot.errors import ConfigError
from relbot.fragments import Fragment
from relbot.towncrier_settings import TowncrierSettings

FORMATS = ("rst", "md")


@dataclass(frozen=True)
class Notes:
    """Rendered release notes: the heading line and the full text."""

    title: str
    text: str
    fmt: str


def project_format(settings: TowncrierSettings) -> str:
    """The markup the project's changelog uses."""
    return "md" if settings.markdown else "rst"


def render(
    component: Component,
    settings: TowncrierSettings,
    fragments: Sequence[Fragment],
    version: str,
    date: str,
    *,
    fmt: str | None = None,
    title: bool = True,
) -> Notes:
    """The notes of ``fragments`` for ``version`` (already in notes format)."""
    return render_variants(component, settings, fragments, version, date, [(fmt, title)])[0]


def render_variants(
    component: Component,
    settings: TowncrierSettings,
    fragments: Sequence[Fragment],
    version: str,
    date: str,
    variants: Sequence[tuple[str | None, bool]],
) -> list[Notes]:
    """The notes of ``fragments`` once for each ``(fmt, title)`` of ``variants``.

    towncrier's configuration is read once, and variants that differ only in
    the heading line share one rendering: where the changelog is Markdown, a
    release's notes and its GitLab release text cost one towncrier run.
    """
    config = _towncrier_config(component, settings)
    bodies: dict[tuple[str, bool], str] = {}
    return [_render_one(config, settings, fragments, version, date,
                        fmt or project_format(settings), title, bodies)
            for fmt, title in variants]


def _render_one(
    config: Any,
    settings: TowncrierSettings,
    fragments: Sequence[Fragment],
    version: str,
    date: str,
    fmt: str,
    title: bool,
    bodies: dict[tuple[str, bool], str],
) -> Notes:
    """One variant; ``bodies`` holds towncrier's renderings by (format, title shown)."""
    from towncrier._builder import split_fragments

    converting = fmt != project_format(settings)
    template, markdown = _template(config, fmt, converting)

    issue_format = config.issue_format
    if converting and fmt == "md" and issue_format:
        from relbot.markup import rst_link_to_markdown

        issue_format = rst_link_to_markdown(issue_format)

    title_format = _title_format(config, fmt, converting)
    render_title = title_format == ""
    header_level = 1
    if markdown:
        match = re.search(r"^#+(?=\s)", title_format or "", re.MULTILINE)
        header_level = len(match[0]) if match else (1 if render_title else 0)

    key = (fmt, render_title and title)
    rendered = bodies.get(key)
    if rendered is None:
        split = split_fragments(_contents(settings, fragments, fmt, converting), config.types,
                                all_bullets=config.all_bullets)
        rendered = bodies[key] = _rendered(
            config,
            template,
            issue_format,
            split,
            config.types,
            config.underlines[1:],
            config.wrap,
            {"name": settings.project_name, "version": version, "date": date},
            top_underline=config.underlines[0],
            all_bullets=config.all_bullets,
            render_title=render_title and title,
            md_header_level=header_level,
        )
    top_line = title_format.format(name=settings.project_name, version=version,
                                   project_date=date) if title_format else ""
    if not title or not top_line:
        return Notes(top_line, rendered, fmt)
    parts = [top_line] if markdown else [top_line, config.underlines[0] * len(top_line)]
    return Notes(top_line, "\n".join([*parts, rendered]), fmt)


def _rendered(config: Any, template: str, *args: Any, **kwargs: Any) -> str:
    """towncrier's ``render_fragments``; a template that fails is one sentence, exit 2."""
    from jinja2 import TemplateError
    from towncrier._builder import render_fragments

    try:
        return str(render_fragments(template, *args, **kwargs))
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError,
            AttributeError) as exc:
        name = config.template if isinstance(config.template, str) else config.template[1]
        shown = Path(name).name
        raise ConfigError(f"the towncrier template {shown} cannot be rendered: "
                          f"{type(exc).__name__}: {exc}".splitlines()[0]) from None


def _contents(settings: TowncrierSettings, fragments: Sequence[Fragment], fmt: str,
              converting: bool) -> dict[str, dict[tuple[str, str, int], str]]:
    """towncrier's fragment mapping: section -> (issue, type, counter) -> text."""
    contents: dict[str, dict[tuple[str, str, int], str]] = {
        name: {} for name, _ in settings.sections
    }
    orphan_counter: dict[tuple[str, str], int] = {}
    for fragment in fragments:
        text = fragment.text
        if converting and fmt == "md":
            from relbot.markup import rst_to_markdown

            text = rst_to_markdown(text)
        counter = fragment.counter
        if fragment.is_orphan:
            # towncrier counts orphans per type; repeat that so none collide.
            key = (fragment.section, fragment.type)
            counter = orphan_counter.get(key, 0)
            orphan_counter[key] = counter + 1
        contents.setdefault(fragment.section, {})[fragment.issue, fragment.type, counter] = text
    return contents


def write_changelog(
    component: Component, settings: TowncrierSettings, notes: Notes, directory: Path
) -> Path:
    """Insert ``notes`` into the changelog below ``directory`` with towncrier's writer.

    ``directory`` is a scratch copy during a release, so the work tree only
    changes when the release commit is checked out, all at once.
    """
    from towncrier._writer import append_to_newsfile

    config = _towncrier_config(component, settings)
    if config.single_file is False:
        raise ConfigError(f"{settings.config_file.name}: single_file = false is not "
                          "supported by relbot cut; keep one changelog file.")
    try:
        append_to_newsfile(str(directory), config.filename, config.start_string,
                           notes.title, notes.text, single_file=True)
    except ValueError as exc:
        raise ConfigError(f"{config.filename}: {exc}") from None
    return directory / str(config.filename)


def _towncrier_config(component: Component, settings: TowncrierSettings) -> Any:
    from relbot.config import read_toml
    from relbot.towncrier_settings import towncrier_config

    return towncrier_config(read_toml(settings.config_file), settings.base_directory,
                            settings.config_file.name)


def _template(config: Any, fmt: str, converting: bool) -> tuple[str, bool]:
    """The template text to render with, and whether it is Markdown."""
    from importlib import resources

    template = config.template
    if converting:
        name = "default.md" if fmt == "md" else "default.rst"
        return resources.files("towncrier.templates").joinpath(name).read_text("utf-8"), (
            fmt == "md")
    if isinstance(template, tuple):
        text = resources.files(template[0]).joinpath(template[1]).read_text("utf-8")
        return text, template[1].lower().endswith(".md")
    return Path(template).read_text(encoding="utf-8"), str(template).lower().endswith(".md")


def _title_format(config: Any, fmt: str, converting: bool) -> str:
    """towncrier's title_format, or the equivalent in the other markup."""
    title_format = config.title_format
    if not isinstance(title_format, str):
        return ""
    if not converting:
        return title_format
    plain = (title_format or "{version} ({project_date})").lstrip("# ")
    return f"## {plain}" if fmt == "md" else plain

