"""18.0.1.2.0: the return file import keeps the uploaded file as an attachment (the
database column made Odoo copy a 27 MB file several times in memory when writing it),
and its preview lines read their batch, mandate and customer from their batch line
instead of storing them.

The import wizard and its lines are transient: their old columns, with the files of
imports not yet cleaned up, are dropped.
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute("ALTER TABLE sepa_return_import DROP COLUMN IF EXISTS data_file")
    cr.execute("""ALTER TABLE sepa_return_import_line DROP COLUMN IF EXISTS batch_id,
                  DROP COLUMN IF EXISTS mandate_id, DROP COLUMN IF EXISTS partner_id""")
