"""``python -m relbot.gitlab_standin``: run the GitLab stand-in for manual trials.

Seeds the usual cast (see ``scenario.py``), adds the tokens given with
``--token``/``--job-token`` (as the bot user and as maria), prints the URL and
serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys
import threading

from relbot.gitlab_standin.server import GitLabStandIn


def main(argv: list[str] | None = None) -> int:
    """Parse the options, start the stand-in, wait for Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m relbot.gitlab_standin",
                                     description="A GitLab REST v4 stand-in on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port (default: 0, any free one)")
    parser.add_argument("--token", action="append", default=[],
                        help="an extra access token of the bot user (repeatable)")
    parser.add_argument("--job-token", action="append", default=[],
                        help="an extra CI/CD job token, of a job maria started (repeatable)")
    args = parser.parse_args(argv)

    standin = GitLabStandIn(port=args.port).start()
    cast = standin.seed_scenario()
    for token in args.token:
        standin.add_token(cast.bot, token, kind="project")
    for token in args.job_token:
        standin.add_job_token(cast.maintainer, token)
    print(standin.url, flush=True)
    print(f"  project {cast.project.path_with_namespace} (id {cast.project.id}) with "
          f"!{cast.mr.iid} and !{cast.fork_mr.iid} (from fork {cast.fork.path_with_namespace})",
          file=sys.stderr)
    print(f"  bot user {cast.bot.username} (id {cast.bot.id}): "
          f"PRIVATE-TOKEN {', '.join([cast.bot_token, *args.token])}", file=sys.stderr)
    print(f"  maria: {cast.maintainer_token}; carl: {cast.contributor_token}; "
          f"JOB-TOKEN {', '.join([cast.job_token, *args.job_token])}", file=sys.stderr)
    print(f"  request log: {standin.url}/-/standin/requests; faults: "
          f"{standin.url}/-/standin/faults", file=sys.stderr)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
