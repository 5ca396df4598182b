"""Fail when the Odoo test run skipped a test or ran none.

A skipped Odoo test usually means a browser test could not start Chromium: for this
project that is a failure, not a pass. The one accepted skip is a conformance test over
the public bank samples of ``../shared/testdata`` when that folder is absent (a clone
without it); its message says so. Reads the JUnit XML written by pytest.
"""

import sys
from xml.etree import ElementTree

#: The skip message of the conformance tests when ``../shared`` is not there.
SHARED_ABSENT = "(../shared absent)"


def main(path):
    root = ElementTree.parse(path).getroot()
    skipped, shared_absent = [], []
    for case in root.iter("testcase"):
        for skip in case.findall("skipped"):
            line = f"{case.get('classname')}.{case.get('name')}: {skip.get('message')}"
            (shared_absent if SHARED_ABSENT in (skip.get("message") or "") else skipped
             ).append(line)
    total = sum(1 for _ in root.iter("testcase"))
    for line in shared_absent:
        print(f"[sepa] accepted skip (public samples not here): {line}")
    if skipped:
        print(f"[sepa] {len(skipped)} Odoo test(s) skipped, which counts as a failure:")
        print("\n".join(f"  - {line}" for line in skipped))
        return 1
    if not total:
        print("[sepa] no Odoo test ran")
        return 1
    others = f" but the {len(shared_absent)} above" if shared_absent else ""
    print(f"[sepa] {total} Odoo tests ran, none skipped{others}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
