from odoo import models


class BaseImportImport(models.TransientModel):
    _inherit = "base_import.import"

    def execute_import(self, fields, columns, options, dryrun=False):
        """Tell ``load`` where the rows it gets are in the file, so that the mandate
        import names a row as the spreadsheet numbers it (the header, the rows of
        earlier batches)."""
        offset = options.get("skip", 0) + (2 if options.get("has_headers") else 1)
        return super(BaseImportImport, self.with_context(
            sepa_import_row_offset=offset)).execute_import(
                fields, columns, options, dryrun=dryrun)
