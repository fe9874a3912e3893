"""The MR check as a JUnit XML report, which GitLab shows in the merge-request widget.

One test case per check and component; a failed check carries its findings
as the failure text. ``xml.etree`` escapes everything, so untrusted names
cannot break the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from relbot.mr import MrReport


def junit_xml(report: MrReport) -> str:
    """The report as a JUnit ``<testsuites>`` document."""
    suites = ET.Element("testsuites", name="relbot mr check")
    for component in report.components:
        failures = sum(1 for check in component.checks if not check.ok)
        suite = ET.SubElement(suites, "testsuite", name=f"relbot {component.component}",
                              tests=str(len(component.checks)), failures=str(failures),
                              errors="0", skipped="0")
        for check in component.checks:
            case = ET.SubElement(suite, "testcase", classname=f"relbot.{component.component}",
                                 name=check.name)
            if not check.ok:
                failure = ET.SubElement(case, "failure", message=f"{check.name} failed",
                                        type="relbot")
                failure.text = "\n".join(str(f) for f in check.findings)
            elif check.findings:
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join(str(f) for f in check.findings)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: MrReport, path: Path, root: Path | None = None) -> None:
    """Write the JUnit report to ``path``, replacing a link there rather than following it.

    The path is usually inside the MR's work tree, where a committed
    ``relbot-junit.xml -> /somewhere`` must not make relbot write elsewhere.
    """
    from relbot.tree import write_output

    write_output(path, junit_xml(report).encode("utf-8"), root)
