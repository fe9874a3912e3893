"""``relbot demo``: relbot's whole job on a throwaway Yaook/K8s-like repository.

It builds a repository with the yaook-k8s preset and a local bare remote,
lets three merge requests add fragments, then checks, previews and cuts the
release, and shows what reached the remote. Everything happens in a temporary
directory; nothing outside it is touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from relbot.forge import NoForge
from relbot.fragments import new_fragment
from relbot.presets import YAOOK_K8S
from relbot.project import Project
from relbot.release import CutOptions, execute, plan_release

MERGE_REQUESTS = (
    (1501, "feature", "Calico can announce the service cluster IP range to external "
                      "peers (``announce_service_ips``)."),
    (1502, "fix", "``upgrade.sh`` installs the prerequisites again before it upgrades."),
    (1503, "chore", "Bump the Nix flake inputs."),
)


@contextmanager
def workspace(keep: Path | None) -> Iterator[Path]:
    """A fresh directory for the demo: ``keep`` if given, else a temporary one."""
    if keep is not None:
        from relbot.errors import UsageError

        if keep.exists() or keep.is_symlink():
            raise UsageError(f"--keep {keep}: it exists already; give a new directory "
                             "(the demo never builds over files that are there).")
        keep.mkdir(parents=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="relbot-demo-") as tmp:
        yield Path(tmp)


def build_repository(base: Path) -> tuple[Path, Path]:
    """A Yaook/K8s-like repository at 8.0.2 with a bare remote; returns (work, remote)."""
    import git

    remote = base / "remote.git"
    work = base / "k8s"
    git.Repo.init(remote, bare=True, initial_branch="main")
    repo = git.Repo.init(work, initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "Demo Maintainer")
        writer.set_value("user", "email", "maintainer@demo.invalid")
    files = {
        "relbot.toml": YAOOK_K8S.relbot_toml.replace('forge = "gitlab"', 'forge = "none"'),
        "towncrier.toml": YAOOK_K8S.towncrier_toml,
        "version": "8.0.2\n",
        "CHANGELOG.rst": "Releasenotes\n============\n\n.. towncrier release notes start\n",
        # Tarook's Kubernetes declaration as of 2026 (the yaook-k8s preset probes it)
        "nix/yk8s/kubernetes/default.nix": ('version = mkOption {\n  type = types.yk8s.k8s.'
                                            'kubernetesVersions [ [1 33] [1 34] [1 35] ];\n'
                                            '  default = "1.35.5";\n};\n'),
        "docs/_releasenotes/.gitignore": "!.gitignore\n",
        "docs/_releasenotes/hotfix/.gitignore": "!.gitignore\n",
    }
    for name, text in files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    repo.git.add(A=True)
    repo.git.commit(m="Yaook/K8s-like repository at v8.0.2")
    repo.git.tag("v8.0.2")
    repo.create_remote("origin", str(remote))
    repo.git.push("origin", "main", "v8.0.2")
    repo.git.remote("set-head", "origin", "main")
    return work, remote


def merge_request_with_bot_comment(work: Path, project: Project,
                                   say: Callable[[str], None]) -> None:
    """MR !1504 in a (stand-in) GitLab: `mr check --fix` names its fragment and comments."""
    import git

    from relbot.comment import MARKER, render_comment
    from relbot.forge import upsert_comment
    from relbot.forge.credentials import Token
    from relbot.forge.gitlab import Connection, GitLabMergeRequests
    from relbot.git import GitRepo
    from relbot.gitlab_standin import GitLabStandIn
    from relbot.mr import MergeRequest, check_mr, fix_fragments

    repo = git.Repo(work)
    base = repo.head.commit.hexsha
    repo.git.checkout("-q", "-b", "calico-bgp")
    path = new_fragment(project.settings, work, "feature",
                        "Calico peers with the ToR switches over BGP (``calico_bgp_peers``).")
    repo.git.add(str(path))
    repo.git.commit(m="Calico BGP peering")
    repo.git.push("-q", "origin", "calico-bgp")
    say(f"\nMerge request !1504 adds {path.relative_to(work)} (placeholder number x).")
    with GitLabStandIn() as gitlab:
        cast = gitlab.seed_scenario()
        gitlab_mr = gitlab.add_merge_request(cast.project, author=cast.maintainer, iid=1504,
                                             title="Calico BGP peering",
                                             source_branch="calico-bgp")
        mr = MergeRequest(iid=1504, base=base, project_id=str(cast.project.id),
                          source_project_id=str(cast.project.id), source_branch="calico-bgp")
        fixed = fix_fragments([project], mr, GitRepo(work))
        report = check_mr(project.config, [project], mr, GitRepo(work), fixed=fixed)
        say(f"$ relbot mr check --fix   (in the MR pipeline, against a GitLab stand-in at "
            f"{gitlab.url})")
        say("  " + report.describe().replace("\n", "\n  "))
        forge = GitLabMergeRequests(Connection(gitlab.url, Token(cast.bot_token,
                                                                 "RELBOT_MR_TOKEN", "mr"),
                                               None, 10.0),
                                    cast.project.id)
        upsert_comment(forge, 1504, render_comment(report), marker=MARKER, ok=report.ok)
        (thread,) = gitlab.discussions(gitlab_mr)
        state = "resolved" if thread.resolved else "open"
        say(f"\nThe bot's one comment on !1504 ({state} thread), as GitLab stores it:\n")
        say("  " + thread.notes[0].body.rstrip("\n").replace("\n", "\n  "))
    repo.git.checkout("-q", "main")
    repo.git.merge("-q", "--no-ff", "-m", "Merge branch 'calico-bgp' into 'main'",
                   "calico-bgp")
    repo.git.push("-q", "origin", "main")
    say("\n!1504 is merged.")


def run_demo(base: Path, say: Callable[[str], None], date: str) -> None:
    """Play the demo in ``base``, narrating through ``say``."""
    import git

    work, remote = build_repository(base)
    say(f"A Yaook/K8s-like repository at v8.0.2: {work}")
    say(f"  its remote (a bare repository): {remote}\n")
    project = Project(work)
    repo = git.Repo(work)
    for number, kind, text in MERGE_REQUESTS:
        path = new_fragment(project.settings, work, kind, text, mr=number)
        repo.git.add(str(path))
        repo.git.commit(m=f"Merge request !{number}")
        say(f"$ relbot fragment new --mr {number} {kind} '…'   -> {path.relative_to(work)}")
    repo.git.push("origin", "main")

    merge_request_with_bot_comment(work, project, say)

    found = project.fragments()
    say(f"\n$ relbot fragment lint\n  {len(found.fragments)} fragment(s) ok"
        if found.ok else "\nfragment lint found problems")
    say(f"\n$ relbot next-version\n  {project.next_version(found)}")

    say("\n$ relbot cut --yes")
    plan = plan_release(project, CutOptions(date=date), NoForge())
    say("  " + plan.describe().replace("\n", "\n  "))
    result = execute(plan, project, NoForge(),
                     lambda step: say(f"  done: {step.title}"))
    say(f"\nReleased {plan.tag} at {result.commit[:12]}. The release notes "
        f"(CHANGELOG.rst and the tag message):\n")
    say(plan.notes.text.rstrip("\n"))
    say("\nWhat the remote holds now:")
    for ref in git.Repo(remote).git.for_each_ref(format="%(refname) %(objectname:short) "
                                                 "%(subject)").splitlines():
        say(f"  {ref}")
    say("\nAs Markdown, for the GitLab Release:\n")
    say(plan.release_notes.text.strip("\n"))
