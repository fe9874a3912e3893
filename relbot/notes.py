"""Release notes, rendered by towncrier with the project's own configuration.

relbot reads the fragments itself (once, safely: see ``relbot.fragments``) and
hands their text to towncrier's builder, template and writer, so the notes are
byte for byte what ``towncrier build`` would write. The one addition is
``fmt="md"``: a GitLab Release wants Markdown even where the changelog is
reStructuredText, so towncrier's own Markdown template renders the same
entries, with the fragments' RST inline markup translated (``relbot.markup``).

Templates are rendered in Jinja's ``SandboxedEnvironment`` (even the project's
own, trusted one: a template is text, and text must not run code), and only
from inside the repository, read through a :class:`relbot.tree.Tree`: in
``relbot mr check`` that is the base commit, so an MR's template is never
rendered at all. Fragment text passes ``relbot.untrusted`` on the way in, the
changelog's start marker is broken up in whatever is inserted, and the
changelog itself is read from the base commit (:func:`changelog_at`), never
through a link in the work tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relbot import untrusted
from relbot.config import Component, rel
from relbot.errors import ConfigError
from relbot.fragments import Fragment
from relbot.towncrier_settings import TowncrierSettings
from relbot.tree import Refused, Tree, WorkTree

if TYPE_CHECKING:
    from relbot.git import GitRepo

FORMATS = ("rst", "md")
MAX_TEMPLATE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Notes:
    """Rendered release notes: the heading line and the full text."""

    title: str
    text: str
    fmt: str


def leading_groups(settings: TowncrierSettings, fragments: Sequence[Fragment],
                   entries: int) -> tuple[list[Fragment], int]:
    """The fragments of the groups (section, type) that towncrier renders first and that
    hold at least ``entries`` entries, and how many entries the groups after them hold.

    towncrier renders the sections in the order its configuration names them, and in
    each the types in theirs; what a group renders depends on that group alone. So the
    head of the notes of the first groups is the head of the notes of all, and a preview
    of 200 entries needs 200 rendered, not 10,000. Entries are counted as the comment's
    preview counts them: one bullet line for each distinct text (towncrier makes one
    entry of equal texts) and each bullet line inside it; one for a type that shows no
    content (one line of MR links).
    """
    groups: dict[tuple[str, str], list[Fragment]] = {}
    for fragment in fragments:
        groups.setdefault((fragment.section, fragment.type), []).append(fragment)
    order = [(section, key) for section, _ in settings.sections for key in settings.types]
    known = set(order)
    order += [key for key in groups if key not in known]  # none: lint refuses them
    taken: list[Fragment] = []
    count = left = 0
    for key in order:
        group = groups.get(key)
        if not group:
            continue
        kind = settings.types.get(key[1])
        size = _entries(group) if kind is None or kind.showcontent else 1
        if count < entries:
            taken += group
            count += size
        else:
            left += size
    return taken, left


def _entries(group: Sequence[Fragment]) -> int:
    texts = {fragment.text.strip() for fragment in group}
    return sum(1 + sum(1 for line in text.splitlines()[1:]
                       if line.lstrip().startswith(("- ", "* "))) for text in texts)


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
    tree: Tree | None = None,
) -> Notes:
    """The notes of ``fragments`` for ``version`` (already in notes format)."""
    return render_variants(component, settings, fragments, version, date, [(fmt, title)],
                           tree=tree)[0]


def render_variants(
    component: Component,
    settings: TowncrierSettings,
    fragments: Sequence[Fragment],
    version: str,
    date: str,
    variants: Sequence[tuple[str | None, bool]],
    *,
    tree: Tree | None = None,
) -> list[Notes]:
    """The notes of ``fragments`` once for each ``(fmt, title)`` of ``variants``.

    towncrier's configuration is read once, and variants that differ only in
    the heading line share one rendering: where the changelog is Markdown, a
    release's notes and its GitLab release text cost one towncrier run.
    """
    source = tree or WorkTree.containing(settings.base_directory)
    config = _towncrier_config(component, settings, source)
    bodies: dict[tuple[str, bool], str] = {}
    return [_render_one(config, settings, fragments, version, date,
                        fmt or project_format(settings), title, bodies, source)
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
    tree: Tree,
) -> Notes:
    """One variant; ``bodies`` holds towncrier's renderings by (format, title shown)."""
    from towncrier._builder import split_fragments

    converting = fmt != project_format(settings)
    template, markdown = _template(config, fmt, converting, tree)

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
        rendered = bodies[key] = _sandboxed_render(
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


def _contents(settings: TowncrierSettings, fragments: Sequence[Fragment], fmt: str,
              converting: bool) -> dict[str, dict[tuple[str, str, int], str]]:
    """towncrier's fragment mapping: section -> (issue, type, counter) -> text."""
    contents: dict[str, dict[tuple[str, str, int], str]] = {
        name: {} for name, _ in settings.sections
    }
    orphan_counter: dict[tuple[str, str], int] = {}
    for fragment in fragments:
        text = untrusted.fragment_text(fragment.text, settings.start_string,
                                       markdown=settings.markdown)
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

    config = _towncrier_config(component, settings,
                               WorkTree.containing(settings.base_directory))
    if config.single_file is False:
        raise ConfigError(f"{settings.config_file.name}: single_file = false is not "
                          "supported by relbot cut; keep one changelog file.")
    try:
        append_to_newsfile(str(directory), config.filename, config.start_string,
                           untrusted.without_marker(notes.title, config.start_string),
                           untrusted.without_marker(notes.text, config.start_string),
                           single_file=True)
    except ValueError as exc:
        raise ConfigError(f"{config.filename}: {exc}") from None
    return directory / str(config.filename)


def changelog_at(git: GitRepo, rev: str, settings: TowncrierSettings,
                 root: Path) -> bytes | None:
    """The changelog's bytes as commit ``rev`` holds them (``None``: it has none yet).

    ``relbot cut`` builds the release commit from this, never from the work
    tree: a changelog replaced by a link (to ``/etc/passwd``, to a token file)
    would otherwise be read and committed. A link in the commit is refused.
    """
    from relbot.tree import GitTree

    relpath = rel(settings.base_directory / settings.filename, root)
    with GitTree(git.root, rev, git.read_blob, git.tree_entries) as tree:
        if tree.kind(relpath) is None:
            return None
        try:
            return tree.read_bytes(relpath, 64 * 1024 * 1024)
        except Refused as refused:
            raise ConfigError(f"the changelog {refused}") from None


def _towncrier_config(component: Component, settings: TowncrierSettings, tree: Tree) -> Any:
    """towncrier's own Config, from the file as ``tree`` holds it; the template is checked."""
    import dataclasses

    from relbot.config import read_toml_in
    from relbot.towncrier_settings import towncrier_config

    where = settings.config_file.name
    config_rel = rel(component.towncrier_config, tree.root)
    data = read_toml_in(tree, config_rel)
    table = data.get("tool", {}).get("towncrier", {}) if isinstance(data, dict) else {}
    template = table.get("template", "towncrier:default") if isinstance(table, dict) else None
    template_rel = None
    if isinstance(template, str) and not re.fullmatch(r"[-\w.]+:[-\w.]+", template):
        template_rel = _template_path(settings, template, tree, where)
        table = {**table, "template": "towncrier:default"}  # towncrier would stat the disk
        data = {**data, "tool": {**data["tool"], "towncrier": table}}
    config = towncrier_config(data, settings.base_directory, where)
    if template_rel is not None:
        config = dataclasses.replace(config, template=template_rel)
    return config


def _template_path(settings: TowncrierSettings, template: str, tree: Tree, where: str) -> str:
    """The repository path of a file template: inside the repository, a regular file."""
    from relbot.tree import normalize

    joined = (settings.base_directory / template)
    try:
        relpath = normalize(Path(os.path.relpath(joined, tree.root)).as_posix())
        tree.check_path(relpath)
    except Refused:
        raise ConfigError(f"{where}: template {template!r} points outside the repository; "
                          "relbot renders only templates inside it.") from None
    kind = tree.kind(relpath)
    if kind == "link":
        raise ConfigError(f"{where}: template {template!r} is a symbolic link; relbot "
                          "renders only regular files inside the repository.")
    if kind != "file":
        raise ConfigError(f"{where}: the template file {template!r} does not exist in "
                          f"{tree.label}.")
    return relpath


def _template(config: Any, fmt: str, converting: bool, tree: Tree) -> tuple[str, bool]:
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
    try:
        text = tree.read_text(str(template), MAX_TEMPLATE_BYTES)
    except Refused as refused:
        raise ConfigError(f"the towncrier template {refused}") from None
    return text, str(template).lower().endswith(".md")


def _sandboxed_render(config: Any, template: str, *args: Any, **kwargs: Any) -> str:
    """towncrier's ``render_fragments``, with the template compiled in Jinja's sandbox.

    towncrier builds ``jinja2.Template`` itself; relbot hands it a Template class
    whose environment is a ``SandboxedEnvironment`` (attribute access to
    ``__globals__``, ``__class__`` and the like raises SecurityError). A template
    that fails is one sentence naming it, exit 2.
    """
    import jinja2
    from towncrier import _builder

    name = config.template if isinstance(config.template, str) else config.template[1]
    failed = f"the towncrier template {Path(name).name} cannot be rendered"
    _builder.Template = _sandboxed_template_class()
    try:
        return str(_builder.render_fragments(template, *args, **kwargs))
    except jinja2.exceptions.SecurityError as exc:
        raise ConfigError(f"{failed}: it tried something the sandbox forbids "
                          f"({_short(exc)}); relbot renders templates sandboxed.") from None
    except jinja2.exceptions.TemplateSyntaxError as exc:
        raise ConfigError(f"{failed}: it is broken: {_short(exc)} (line {exc.lineno})."
                          ) from None
    except (jinja2.exceptions.TemplateError, ArithmeticError, LookupError, TypeError,
            ValueError, AttributeError) as exc:
        raise ConfigError(f"{failed}: {type(exc).__name__}: {_short(exc)}.") from None
    except (RecursionError, MemoryError) as exc:
        raise ConfigError(f"{failed}: {type(exc).__name__}.") from None


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200].rstrip(".")


_SANDBOXED: list[type] = []


def _sandboxed_template_class() -> type:
    if not _SANDBOXED:
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment

        class SandboxedTemplate(jinja2.Template):
            environment_class = SandboxedEnvironment

        _SANDBOXED.append(SandboxedTemplate)
    return _SANDBOXED[0]


def check_template(text: str) -> str | None:
    """Why ``text`` is no template relbot could render (``None``: it compiles sandboxed)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    try:
        SandboxedEnvironment(trim_blocks=True).parse(text)
    except jinja2.exceptions.TemplateSyntaxError as exc:
        return f"{_short(exc)} (line {exc.lineno})"
    except (RecursionError, MemoryError):
        return "it is nested too deeply"
    return None


def _title_format(config: Any, fmt: str, converting: bool) -> str:
    """towncrier's title_format, or the equivalent in the other markup."""
    title_format = config.title_format
    if not isinstance(title_format, str):
        return ""
    if not converting:
        return title_format
    plain = (title_format or "{version} ({project_date})").lstrip("# ")
    return f"## {plain}" if fmt == "md" else plain

