"""Merge i18n/sepa_direct_debit.pot into i18n/nl.po (keeps existing translations).

New msgids get an empty translation (tools/check_translations.py then fails until they
are translated); msgids that left the .pot are dropped.
"""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

I18N = Path(__file__).resolve().parent.parent / "i18n"


def main():
    with (I18N / "sepa_direct_debit.pot").open("rb") as handle:
        template = read_po(handle)
    target = I18N / "nl.po"
    if target.exists():
        with target.open("rb") as handle:
            dutch = read_po(handle, locale="nl")
    else:
        dutch = read_po(open(I18N / "sepa_direct_debit.pot", "rb"), locale="nl")
    dutch.update(template, no_fuzzy_matching=True)
    dutch.obsolete.clear()
    with target.open("wb") as handle:
        write_po(handle, dutch, width=0, omit_header=False, ignore_obsolete=True)
    print(f"[sepa] {target.name}: {len(dutch)} messages")


if __name__ == "__main__":
    main()
