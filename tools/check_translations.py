"""Check that i18n/nl.po translates every msgid of i18n/sepa_direct_debit.pot.

Exit status 1 lists the msgids that are missing from nl.po or left untranslated.
"""

import sys
from pathlib import Path

import polib

I18N = Path(__file__).resolve().parent.parent / "i18n"


def main():
    template = polib.pofile(str(I18N / "sepa_direct_debit.pot"))
    dutch = {entry.msgid: entry.msgstr for entry in polib.pofile(str(I18N / "nl.po"))}
    missing = [entry.msgid for entry in template if not dutch.get(entry.msgid)]
    if missing:
        print(f"[sepa] {len(missing)} msgid(s) of the .pot lack a Dutch translation in nl.po:")
        for msgid in missing:
            print(f"  - {msgid!r}")
        return 1
    print(f"[sepa] nl.po translates all {len(template)} msgids of the .pot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
