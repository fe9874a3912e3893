"""A stateful GitLab REST v4 stand-in served over HTTP on 127.0.0.1 (work in progress).

Its responses are shaped after the examples in GitLab's API documentation,
kept in ``fixtures/`` with their sources (see ``fixtures/README.md``).
"""
