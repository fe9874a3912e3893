"""GitLab's documented permissions, for the endpoints relbot uses.

Each rule names the page of GitLab's documentation it follows. The stand-in
enforces them, so a test passes only if relbot would pass on a real GitLab.

Roles are access levels ("Members API", *Roles*): Guest 10, Reporter 20,
Developer 30, Maintainer 40, Owner 50. The role of a project access token is
its bot user's membership in the project; a CI/CD job token acts with the role
of the user who started the job, but only on the endpoints of the job token's
allowlist.
"""

from __future__ import annotations

from dataclasses import dataclass

NO_ACCESS, GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 0, 10, 20, 30, 40, 50
ROLE_NAMES = {NO_ACCESS: "no access", GUEST: "Guest", REPORTER: "Reporter",
              DEVELOPER: "Developer", MAINTAINER: "Maintainer", OWNER: "Owner"}

PERMISSIONS_DOC = "https://docs.gitlab.com/user/permissions/ (Roles and permissions)"
CI_JOB_AUTH_PAGE = ("https://docs.gitlab.com/ci/jobs/ci_job_token/ (GitLab CI/CD job token), "
                    "Job token feature access")
RELEASES_DOC = ("https://docs.gitlab.com/user/project/releases/ (Releases), "
                "Release permissions")
PROTECTED_TAGS_DOC = "https://docs.gitlab.com/user/project/protected_tags/ (Protected tags)"
NOTES_DOC = "https://docs.gitlab.com/api/notes/ (Notes API)"


@dataclass(frozen=True)
class Rule:
    """The least role an operation needs on a private project, and where GitLab says so.

    ``public`` is the least role on a public project (``NO_ACCESS``: any signed-in
    user, or anyone for reads).
    """

    role: int
    public: int
    source: str


RULES: dict[str, Rule] = {
    # reading merge requests, notes, discussions, tags and releases of a project
    "read": Rule(REPORTER, NO_ACCESS, f"{PERMISSIONS_DOC}: Merge requests, View merge "
                                      "request; Repository, View repository"),
    # commenting: any member of a private project, anyone signed in on a public one
    "note.create": Rule(GUEST, NO_ACCESS, f"{PERMISSIONS_DOC}: Merge requests, Comment"),
    "discussion.create": Rule(GUEST, NO_ACCESS, f"{PERMISSIONS_DOC}: Merge requests, "
                                                "Comment"),
    "discussion.reply": Rule(GUEST, NO_ACCESS, f"{PERMISSIONS_DOC}: Merge requests, Comment"),
    # editing a note: its author only (checked on the note; see State.update_note)
    "note.update": Rule(GUEST, NO_ACCESS, f"{NOTES_DOC}: Modify existing merge request note"),
    "discussion.update_note": Rule(GUEST, NO_ACCESS, f"{NOTES_DOC}: Modify existing merge "
                                                     "request note"),
    "note.delete": Rule(GUEST, NO_ACCESS, f"{NOTES_DOC}: Delete a merge request note "
                                          "(author, or Maintainer)"),
    # resolving a thread: Developer (or the merge request's author)
    "discussion.resolve": Rule(DEVELOPER, DEVELOPER, f"{PERMISSIONS_DOC}: Merge requests, "
                                                     "Resolve a merge request thread"),
    # opening a merge request in the project itself (its source branch is pushed there)
    "merge_request.create": Rule(DEVELOPER, DEVELOPER, f"{PERMISSIONS_DOC}: Merge requests, "
                                                       "Create merge request"),
    "tag.create": Rule(DEVELOPER, DEVELOPER, f"{PERMISSIONS_DOC}: Repository, Create new "
                                             f"tags; protected tags: {PROTECTED_TAGS_DOC}"),
    "tag.delete": Rule(DEVELOPER, DEVELOPER, f"{PERMISSIONS_DOC}: Repository, Delete tags"),
    "release.create": Rule(DEVELOPER, DEVELOPER, f"{RELEASES_DOC}: create, update and "
                                                 "delete releases need Developer"),
    "release.update": Rule(DEVELOPER, DEVELOPER, f"{RELEASES_DOC}"),
    "release.delete": Rule(DEVELOPER, DEVELOPER, f"{RELEASES_DOC}"),
}

#: Operations a CI/CD job token may make (CI_JOB_AUTH_PAGE): of relbot's endpoints, reading
#: merge requests (get and list), their notes, and tags, and the whole Releases API.
#: Any other endpoint does not take a job token at all: GitLab answers 401 there.
JOB_TOKEN_ALLOWLIST = frozenset({
    "mr.list", "mr.get", "note.list", "note.get", "tag.list", "tag.get",
    "release.list", "release.get", "release.create", "release.update", "release.delete",
})

#: Who may create a tag matching a protected-tag pattern by default (PROTECTED_TAGS_DOC:
#: "Allowed to create: Maintainers").
PROTECTED_TAG_CREATE = MAINTAINER


def role_name(level: int) -> str:
    """``Developer`` for 30, and so on."""
    return ROLE_NAMES.get(level, f"access level {level}")
