"""Merge i18n/sepa_direct_debit.pot into i18n/nl.po (keeps existing translations).

Every entry of the .pot is written to nl.po with its Odoo references (``#: model:...``,
``#. odoo-python``), which Odoo needs to load the translation, and with the Dutch text
nl.po already had for that msgid. New msgids get an empty translation:
tools/check_translations.py then fails until they are translated. Msgids that left the
.pot are dropped.
"""

from pathlib import Path

import polib

I18N = Path(__file__).resolve().parent.parent / "i18n"


def main():
    template = polib.pofile(str(I18N / "sepa_direct_debit.pot"))
    target = I18N / "nl.po"
    known = {}
    if target.exists():
        known = {entry.msgid: entry.msgstr for entry in polib.pofile(str(target))}
    dutch = polib.POFile(wrapwidth=0)
    dutch.header = template.header
    dutch.metadata = dict(template.metadata, Language="nl")
    for entry in template:
        entry.msgstr = known.get(entry.msgid, "")
        dutch.append(entry)
    dutch.save(str(target))
    untranslated = sum(1 for entry in dutch if not entry.msgstr)
    print(f"[sepa] nl.po: {len(dutch)} messages, {untranslated} without translation")


if __name__ == "__main__":
    main()
