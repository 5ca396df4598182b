"""Check that i18n/nl.po translates every msgid of i18n/sepa_direct_debit.pot.

Exit status 1 lists the msgids that are missing from nl.po or left untranslated.
"""

import sys
from pathlib import Path

from babel.messages.pofile import read_po

I18N = Path(__file__).resolve().parent.parent / "i18n"


def load(path):
    with path.open("rb") as handle:
        return read_po(handle)


def main():
    template = load(I18N / "sepa_direct_debit.pot")
    dutch = load(I18N / "nl.po")
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = dutch.get(message.id, message.context)
        if translated is None or not translated.string:
            missing.append(message.id)
    if missing:
        print(f"[sepa] {len(missing)} msgid(s) of the .pot lack a Dutch translation in nl.po:")
        for msgid in missing:
            print(f"  - {msgid!r}")
        return 1
    print(f"[sepa] nl.po translates all {sum(1 for m in template if m.id)} msgids of the .pot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
