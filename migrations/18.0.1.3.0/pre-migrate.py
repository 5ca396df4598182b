"""18.0.1.3.0: the return reasons say whose failure they are (``fault``) and the
catalogue knows more codes (DU01, DU02, DU04, FF02).

A code the catalogue now ships may have been created already, as unknown, when a file
brought it: that record becomes the shipped one (its XML id is added here, before the
data file is loaded, which would otherwise create the code a second time and fail on its
unique code). ``post-migrate.py`` then fills what the data file, loaded without updating
existing records, does not.
"""

MODULE = "sepa_direct_debit"


def migrate(cr, version):
    if not version:
        return
    from odoo.addons.sepa_direct_debit.sepa.reasons import CATALOGUE

    cr.execute("""
        INSERT INTO ir_model_data (module, name, model, res_id, noupdate)
        SELECT %s, 'return_reason_' || LOWER(r.code), 'sepa.return.reason', r.id, TRUE
          FROM sepa_return_reason r
         WHERE r.code = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM ir_model_data d
                            WHERE d.module = %s AND d.name = 'return_reason_' || LOWER(r.code))
    """, (MODULE, list(CATALOGUE), MODULE))
