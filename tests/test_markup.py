"""RST fragments shown as Markdown for GitLab."""

from __future__ import annotations

from relbot.markup import rst_link_to_markdown, rst_to_markdown


def test_inline_markup() -> None:
    """Literals, links and roles become their Markdown forms."""
    text = ("Set ``YAOOK_K8S_DEVSHELL``, see `the docs <https://yaook.cloud/x>`_ and "
            ":doc:`Initialization </user/guide/initialization>` or :ref:`changelog`.")
    assert rst_to_markdown(text) == (
        "Set `YAOOK_K8S_DEVSHELL`, see [the docs](https://yaook.cloud/x) and "
        "Initialization or `changelog`.")


def test_code_directive_becomes_fence() -> None:
    """A code directive with its indented block becomes a fenced block in that language."""
    text = "Configure\n\n.. code:: ini\n\n   a = 1\n   b = 2\n\nin ``nix.conf``"
    assert rst_to_markdown(text) == "Configure\n\n```ini\na = 1\nb = 2\n```\n\nin `nix.conf`"


def test_literal_block_and_admonition() -> None:
    """`::` literal blocks are fenced; admonitions become quoted, labelled blocks."""
    text = ("Run this::\n\n    ./migrate.sh\n\n.. attention:: Action required\n\n"
            "   You must migrate.\n")
    assert rst_to_markdown(text) == ("Run this:\n```\n./migrate.sh\n```\n\n"
                                     "> **Attention:** Action required\n> You must migrate.")


def test_issue_format_link() -> None:
    """Yaook's RST issue_format becomes a Markdown link."""
    assert rst_link_to_markdown("`!{issue} <https://gitlab.com/yaook/k8s/-/merge_requests/"
                                "{issue}>`_") == (
        "[!{issue}](https://gitlab.com/yaook/k8s/-/merge_requests/{issue})")
