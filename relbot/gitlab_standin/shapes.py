"""JSON shapes of the stand-in's responses, after GitLab's documented examples.

Each function renders one kind of object with exactly the keys of the matching
example in ``fixtures/`` (see ``fixtures/README.md``); the test suite compares
the key sets. Values the stand-in does not model (pipelines, milestones,
approvals, time tracking) get the neutral value GitLab sends for an object
without them (``null``, ``0``, ``[]``, ``false``).

Call these under the state's lock: they look users and notes up.
"""

from __future__ import annotations

from typing import Any

from relbot.gitlab_standin.state import (
    Commit,
    Discussion,
    MergeRequest,
    Note,
    Project,
    Release,
    State,
    Tag,
    User,
    iso,
)


def current_user(state: State, user: User) -> dict[str, Any]:
    """``GET /user`` (users.md, "List current user (for normal users)")."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "state": user.state,
        "avatar_url": None,
        "web_url": f"{state.base_url}/{user.username}",
        "created_at": iso(user.created_at),
        "bio": "",
        "bio_html": "",
        "location": None,
        "public_email": "",
        "skype": "",
        "linkedin": "",
        "twitter": "",
        "website_url": "",
        "organization": "",
        "last_sign_in_at": None,
        "confirmed_at": iso(user.created_at),
        "theme_id": 1,
        "last_activity_on": None,
        "color_scheme_id": 1,
        "projects_limit": 0 if user.bot else 100000,
        "current_sign_in_at": None,
        "identities": [],
        "can_create_group": not user.bot,
        "can_create_project": not user.bot,
        "two_factor_enabled": False,
        "external": False,
        "private_profile": False,
    }


def user_basic(state: State, user: User) -> dict[str, Any]:
    """A user embedded in a merge request or a release (merge_requests.md ``author``)."""
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "avatar_url": None,
        "web_url": f"{state.base_url}/{user.username}",
    }


def note_author(user: User) -> dict[str, Any]:
    """A note's ``author`` (notes.md, "Get single merge request note")."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "state": user.state,
        "created_at": iso(user.created_at),
    }


def project(state: State, proj: Project, access_level: int | None = None) -> dict[str, Any]:
    """``GET /projects/:id``: the fields relbot may read (no documented example is kept).

    ``permissions`` shows the caller's role, as "Projects API", *Get a single
    project* documents it for an authenticated request (``access_level`` None:
    anonymous, no such key).
    """
    web_url = f"{state.base_url}/{proj.path_with_namespace}"
    data: dict[str, Any] = {
        "id": proj.id,
        "description": proj.description,
        "name": proj.name,
        "name_with_namespace": proj.path_with_namespace.replace("/", " / "),
        "path": proj.path,
        "path_with_namespace": proj.path_with_namespace,
        "created_at": iso(proj.created_at),
        "default_branch": proj.default_branch,
        "visibility": proj.visibility,
        "web_url": web_url,
        "http_url_to_repo": f"{web_url}.git",
        "ssh_url_to_repo": f"git@127.0.0.1:{proj.path_with_namespace}.git",
        "readme_url": None,
        "archived": False,
        "empty_repo": False,
        "namespace": {"name": proj.namespace, "path": proj.namespace.rsplit("/", 1)[-1],
                      "full_path": proj.namespace, "kind": "group"},
    }
    if access_level is not None:
        data["permissions"] = {
            "project_access": ({"access_level": access_level, "notification_level": 3}
                               if access_level else None),
            "group_access": None,
        }
    if proj.forked_from_id is not None:
        parent = state.project(proj.forked_from_id)
        data["forked_from_project"] = {
            "id": parent.id, "name": parent.name, "path": parent.path,
            "path_with_namespace": parent.path_with_namespace,
            "web_url": f"{state.base_url}/{parent.path_with_namespace}",
        }
    return data


def merge_request(state: State, mr: MergeRequest, *, can_merge: bool) -> dict[str, Any]:
    """``GET /projects/:id/merge_requests/:iid`` (merge_requests.md, "Get single MR")."""
    proj = state.project(mr.project_id)
    ref = f"!{mr.iid}"
    merged = mr.state == "merged"
    closed = mr.state == "closed"
    if mr.state != "opened":
        detailed = "not_open"
    elif mr.draft:
        detailed = "draft_status"
    else:
        detailed = "mergeable"
    return {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": mr.project_id,
        "title": ("Draft: " + mr.title) if mr.draft and not mr.title.startswith("Draft")
        else mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": iso(mr.created_at),
        "updated_at": iso(mr.updated_at),
        "merged_by": None,
        "merge_user": None,
        "merged_at": iso(mr.updated_at) if merged else None,
        "closed_by": None,
        "closed_at": iso(mr.updated_at) if closed else None,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "user_notes_count": state.user_notes_count(mr),
        "upvotes": 0,
        "downvotes": 0,
        "author": user_basic(state, state.user(mr.author_id)),
        "assignees": [],
        "assignee": None,
        "reviewers": [],
        "source_project_id": mr.source_project_id,
        "target_project_id": mr.project_id,
        "labels": list(mr.labels),
        "draft": mr.draft,
        "work_in_progress": mr.draft,
        "milestone": None,
        "merge_when_pipeline_succeeds": False,
        "merge_status": "can_be_merged",
        "detailed_merge_status": detailed,
        "sha": mr.sha,
        "merge_commit_sha": None,
        "squash_commit_sha": None,
        "discussion_locked": None,
        "should_remove_source_branch": None,
        "force_remove_source_branch": True,
        "reference": ref,
        "references": {"short": ref, "relative": ref,
                       "full": f"{proj.path_with_namespace}{ref}"},
        "web_url": f"{state.base_url}/{proj.path_with_namespace}/-/merge_requests/{mr.iid}",
        "time_stats": {"time_estimate": 0, "total_time_spent": 0,
                       "human_time_estimate": None, "human_total_time_spent": None},
        "squash": False,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": False,
        "blocking_discussions_resolved": state.blocking_discussions_resolved(mr),
        "approvals_before_merge": None,
        "subscribed": False,
        "changes_count": mr.changes_count,
        "latest_build_started_at": None,
        "latest_build_finished_at": None,
        "first_deployed_to_production_at": None,
        "pipeline": None,
        "head_pipeline": None,
        "diff_refs": {"base_sha": mr.base_sha, "head_sha": mr.sha, "start_sha": mr.start_sha},
        "merge_error": None,
        "first_contribution": False,
        "user": {"can_merge": can_merge},
    }


def note(state: State, n: Note) -> dict[str, Any]:
    """A merge request note (notes.md, "Get single merge request note").

    A resolvable note (one of a thread) also carries ``resolved``, ``resolved_by``
    and ``resolved_at``, as GitLab's note entity exposes them only for such notes.
    """
    data: dict[str, Any] = {
        "id": n.id,
        "body": n.body,
        "attachment": None,
        "author": note_author(state.user(n.author_id)),
        "created_at": iso(n.created_at),
        "updated_at": iso(n.updated_at),
        "system": n.system,
        "noteable_id": n.noteable_id,
        "noteable_type": "MergeRequest",
        "project_id": n.project_id,
        "noteable_iid": n.noteable_iid,
        "resolvable": n.resolvable,
        "confidential": n.internal,
        "internal": n.internal,
    }
    if n.resolvable:
        data.update(_resolution(state, n))
    return data


def _resolution(state: State, n: Note) -> dict[str, Any]:
    resolver = state.user(n.resolved_by_id) if n.resolved_by_id is not None else None
    return {
        "resolved": n.resolved,
        "resolved_by": user_basic(state, resolver) if resolver else None,
        "resolved_at": iso(n.resolved_at),
    }


def discussion_note(state: State, n: Note) -> dict[str, Any]:
    """A note inside a discussion (discussions.md, "List project merge request discussion
    items").

    The documented example shows ``resolved``, ``resolved_by`` and ``resolved_at``
    on every merge request note, individual ones included; GitLab's note entity
    exposes them only where the note is resolvable (the individual notes of the
    issue example carry ``resolvable: false`` alone), and so does the stand-in.
    """
    data: dict[str, Any] = {
        "id": n.id,
        "type": n.type,
        "body": n.body,
        "attachment": None,
        "author": user_basic(state, state.user(n.author_id)),
        "created_at": iso(n.created_at),
        "updated_at": iso(n.updated_at),
        "system": n.system,
        "noteable_id": n.noteable_id,
        "noteable_type": "MergeRequest",
        "project_id": n.project_id,
        "noteable_iid": n.noteable_iid,
    }
    if n.resolvable:
        data.update(_resolution(state, n))
    data["resolvable"] = n.resolvable
    return data


def discussion(state: State, d: Discussion) -> dict[str, Any]:
    """A merge request discussion (discussions.md, "List project merge request discussion
    items")."""
    return {
        "id": d.id,
        "individual_note": d.individual_note,
        "notes": [discussion_note(state, n) for n in d.notes],
    }


def commit(c: Commit) -> dict[str, Any]:
    """A commit embedded in a tag or a release (tags.md)."""
    return {
        "id": c.id,
        "short_id": c.id[:8],
        "title": c.title,
        "created_at": c.committed_date,
        "parent_ids": list(c.parent_ids),
        "message": c.message,
        "author_name": c.author_name,
        "author_email": c.author_email,
        "authored_date": c.authored_date,
        "committer_name": c.committer_name,
        "committer_email": c.committer_email,
        "committed_date": c.committed_date,
    }


def tag(state: State, proj: Project, t: Tag) -> dict[str, Any]:
    """A repository tag (tags.md, "Get a single repository tag")."""
    release = state.find_release(proj, t.name)
    return {
        "name": t.name,
        "message": t.message,
        "target": t.target,
        "commit": commit(state.commit(proj, t.commit_id)),
        "release": ({"tag_name": release.tag_name, "description": release.description}
                    if release else None),
        "protected": t.protected or proj.tag_is_protected(t.name),
        "created_at": iso(t.created_at),
    }


def release(state: State, proj: Project, r: Release, *, can_update: bool = True,
            ) -> dict[str, Any]:
    """A release (releases/_index.md, "Get a Release by a tag name").

    The stand-in refuses milestones, and GitLab leaves ``milestones`` out of a
    release without any (see the second release of the documented list example).
    GitLab's release entity (``API::Entities::Release``) exposes ``upcoming_release``
    (``released_at`` in the future), and leaves out what is empty
    (``expose_nil: false``): ``commit_path`` and ``tag_path`` without a tag commit,
    ``_links.edit_url`` for a caller who may not edit releases.
    """
    web = f"{state.base_url}/{proj.path_with_namespace}"
    found = state.find_tag(proj, r.tag_name)
    sha = found.commit_id if found else ""
    archive = f"{proj.path}-{r.tag_name.replace('/', '-')}"
    sources = [{"format": fmt, "url": f"{web}/-/archive/{r.tag_name}/{archive}.{fmt}"}
               for fmt in ("zip", "tar.gz", "tar.bz2", "tar")]
    query = f"release_tag={r.tag_name}&scope=all&state="
    links: dict[str, str] = {
        "closed_issues_url": f"{web}/-/issues?{query}closed",
        "closed_merge_requests_url": f"{web}/-/merge_requests?{query}closed",
        "edit_url": f"{web}/-/releases/{r.tag_name}/edit",
        "merged_merge_requests_url": f"{web}/-/merge_requests?{query}merged",
        "opened_issues_url": f"{web}/-/issues?{query}opened",
        "opened_merge_requests_url": f"{web}/-/merge_requests?{query}opened",
        "self": f"{web}/-/releases/{r.tag_name}",
    }
    if not can_update:
        del links["edit_url"]
    data: dict[str, Any] = {
        "tag_name": r.tag_name,
        "description": r.description,
        "name": r.name,
        "created_at": iso(r.created_at),
        "released_at": iso(r.released_at),
        "upcoming_release": r.released_at > state.clock(),
        "author": user_basic(state, state.user(r.author_id)),
        "commit": commit(state.commit(proj, sha)) if sha else None,
        "commit_path": f"/{proj.path_with_namespace}/-/commit/{sha}" if sha else None,
        "tag_path": f"/{proj.path_with_namespace}/-/tags/{r.tag_name}" if sha else None,
        "assets": {"count": len(sources), "sources": sources, "links": []},
        "evidences": [],
        "_links": links,
    }
    return {key: value for key, value in data.items()
            if value is not None or key not in ("commit_path", "tag_path")}
