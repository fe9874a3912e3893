"""``relbot cut`` from end to end: plan, show, confirm, execute, for one or all components.

The CLI gives it a way to talk (``say``) and to ask (``confirm``); it returns
the JSON-ready result, so ``--json`` prints exactly what happened.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relbot.errors import ConfigError, ReleaseRefused, UsageError
from relbot.git import GitRepo

if TYPE_CHECKING:
    from relbot.ci_env import CiEnv
    from relbot.forge import Forge
    from relbot.project import Project
    from relbot.release import CutOptions, ReleasePlan, Step


def run_cut(
    root: Path,
    component: str | None,
    *,
    all_components: bool,
    dry_run: bool,
    confirm: Callable[[str], bool] | None,
    say: Callable[[str], None],
    date: str,
    version: str | None,
    pre: str | None,
    hotfix: bool,
    push: bool,
    prepare: bool = False,
    finish: bool = False,
    ci: CiEnv | None = None,
    release_text: bool = True,
) -> dict[str, Any]:
    """Cut the release(s); returns what happened as JSON-ready data (without
    ``release_text``, the forge release's text only where a forge release was made)."""
    # The plan's first git questions start before the modules that plan are imported:
    # git answers while Python loads them (relbot.release.start_questions asks the rest).
    git = GitRepo.find(root.resolve())
    if git is not None:
        if not finish:
            git.start_status(save_stat=not dry_run)
        git.start_has_remote()
    try:
        return _cut(root, component, git, all_components=all_components, dry_run=dry_run,
                    confirm=confirm, say=say, date=date, version=version, pre=pre,
                    hotfix=hotfix, push=push, prepare=prepare, finish=finish, ci=ci,
                    release_text=release_text)
    finally:
        if git is not None:
            git.drop_started()


def _cut(root: Path, component: str | None, git: GitRepo | None, *, all_components: bool,
         dry_run: bool, confirm: Callable[[str], bool] | None, say: Callable[[str], None],
         date: str, version: str | None, pre: str | None, hotfix: bool, push: bool,
         prepare: bool, finish: bool, ci: CiEnv | None, release_text: bool
         ) -> dict[str, Any]:
    from relbot.ci_env import CiEnv
    from relbot.config import load_config
    from relbot.forge import NoForge, UnavailableForge
    from relbot.project import Project
    from relbot.release import CutOptions, check_release_access, execute, plan_release

    config = load_config(root.resolve())
    # The CI environment is read here, once; the core gets values (relbot.ci_env).
    ci = ci if ci is not None else CiEnv.from_environ(os.environ)
    options = CutOptions(date=date, version=version, pre=pre, hotfix=hotfix, push=push,
                         prepare=prepare, finish=finish, ci_branch=ci.commit_branch,
                         save_stat=not dry_run)

    def forge_for(project: Project) -> Forge:
        if not push:
            return NoForge()  # --no-push stops after the tag: nothing to publish
        from relbot.forge.factory import make_forge

        try:
            return make_forge(config, project.component, ci)
        except ConfigError as exc:
            if not dry_run:
                raise  # refuse before anything changes, not at the last step
            return UnavailableForge(config.forge, str(exc))

    if all_components:
        if component:
            raise UsageError("--all releases every component; it does not go with "
                             "--component.")
        if version:
            raise UsageError("--version names one component's version; it does not go with "
                             "--all.")
        projects = [Project(root, c.name, config, git=git) for c in config.components]
        return _all(projects, options, forge_for, dry_run, confirm, say, release_text,
                    ci.server_url)

    project = Project(root, component, config, git=git)
    forge = forge_for(project)
    if project.component.policies:  # the policy modules (and packaging) only for policies
        from relbot.policy.check import policy_warnings  # the policies' warnings, shown by cut

        for warning in policy_warnings(project, hotfix=hotfix):
            say(str(warning))  # a finding prints its own "warning:" (relbot.findings)
    plan = plan_release(project, options, forge)
    if dry_run:
        say(plan.describe())
        say("")
        say(plan.notes.text.rstrip("\n"))
        check_release_access(plan, forge)  # fails as the real run would (15.17)
        return plan.as_dict(dry_run=True, release_text=release_text)
    if plan.complete:
        say(f"{plan.tag} is already released completely; nothing to do.")
        return plan.as_dict(release_text=release_text)
    if confirm is not None and not confirm(plan.describe() + "\n\n"
                                           + plan.notes.text.rstrip("\n")):
        raise ReleaseRefused("cancelled; nothing was changed.")
    result = execute(plan, project, forge, lambda step: say(_done(step)),
                     push_env=_push_env(project, ci.server_url))
    if plan.stage == "prepare":
        say(f"prepared {plan.tag} on {plan.branch} ({result.commit[:12]}); after the soak, "
            f"`relbot cut --finish` on {plan.branch} releases it.")
    else:
        say(f"released {plan.tag} ({result.commit[:12]})"
            + (f": {result.release_url}" if result.release_url else ""))
    for message in result.messages:
        say(message)
    if (not push and plan.stage != "prepare" and project.git is not None
            and project.git.has_remote()):
        say("not pushed (--no-push): `relbot cut` again pushes it.")
    return result.as_dict(release_text=release_text or plan.forge != "none")


def _push_env(project: Project, server_url: str | None) -> dict[str, str]:
    """The release token as git's HTTP header, for a push to the GitLab the job runs on
    (``CI_SERVER_URL``) only; the component's job needs no header of its own."""
    git = project.git
    if git is None or not server_url:  # outside CI no header is ever added
        return {}
    from relbot.forge.credentials import push_auth_env, resolve_token

    token = resolve_token(os.environ, "release", project.config.gitlab_token_env)
    if token is None or not git.has_remote():  # ask git for the push URL only when it matters
        return {}
    return push_auth_env(git.push_url(), server_url, token)


def _done(step: Step) -> str:
    return f"done: {step.title} ({step.detail})"


def _all(projects: list[Project], options: CutOptions, forge_for: Callable[[Project], Forge],
         dry_run: bool, confirm: Callable[[str], bool] | None,
         say: Callable[[str], None], release_text: bool = True,
         server_url: str | None = None) -> dict[str, Any]:
    from relbot.release import release_all

    if not dry_run and confirm is not None:
        preview = release_all(projects, options, forge_for, dry_run=True)
        text = "\n\n".join(o.plan.describe() for o in preview if o.plan and not o.skipped)
        if not text:
            say("no component has anything to release.")
            return {"components": []}
        if not confirm(text):
            raise ReleaseRefused("cancelled; nothing was changed.")

    def report(plan: ReleasePlan, step: Step) -> None:
        say(f"{plan.component}: {_done(step)}")

    outcomes = release_all(projects, options, forge_for, dry_run=dry_run, report=report,
                           push_env=_push_env(projects[0], server_url)
                           if projects and not dry_run else None)
    data: list[dict[str, object]] = []
    for outcome in outcomes:
        if outcome.skipped:
            say(f"{outcome.component}: skipped: {outcome.skipped}")
            data.append({"component": outcome.component, "skipped": outcome.skipped})
        elif outcome.result is None and outcome.plan is not None:
            say(outcome.plan.describe())
            data.append(outcome.plan.as_dict(dry_run=True, release_text=release_text))
        elif outcome.result is not None:
            say(f"{outcome.component}: released {outcome.result.plan.tag}")
            data.append(outcome.result.as_dict(
                release_text=release_text or outcome.result.plan.forge != "none"))
    return {"components": data}
