"""Policies as files: support windows, upgrade graphs and the probes that find versions.

The package is split so that each module holds one idea: :mod:`.model` (what a
policy is), :mod:`.files` (where a policy file comes from), :mod:`.schema`
and :mod:`.load` (reading and validating one), :mod:`.window` and
:mod:`.graph` (the two kinds' rules), :mod:`.upgrade` (``relbot policy path``),
:mod:`.trees` (files of the work tree or a revision), :mod:`.probes`
(declared versions in a repository), :mod:`.check` (``relbot policy check``)
and :mod:`.show` (support matrices). Nothing here imports towncrier,
python-gitlab or gitpython at import time.
"""
