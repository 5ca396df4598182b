"""Fail when the Odoo test run skipped a test or ran none.

A skipped Odoo test usually means a browser test could not start Chromium: for this
project that is a failure, not a pass. Reads the JUnit XML written by pytest.
"""

import sys
from xml.etree import ElementTree


def main(path):
    root = ElementTree.parse(path).getroot()
    skipped = [
        f"{case.get('classname')}.{case.get('name')}: {skip.get('message')}"
        for case in root.iter("testcase")
        for skip in case.findall("skipped")
    ]
    total = sum(1 for _ in root.iter("testcase"))
    if skipped:
        print(f"[sepa] {len(skipped)} Odoo test(s) skipped, which counts as a failure:")
        print("\n".join(f"  - {line}" for line in skipped))
        return 1
    if not total:
        print("[sepa] no Odoo test ran")
        return 1
    print(f"[sepa] {total} Odoo tests ran, none skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
