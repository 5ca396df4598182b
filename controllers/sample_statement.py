"""Download of a sent batch's sample bank statement (demo databases only)."""

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.exceptions import UserError
from odoo.http import content_disposition, request


class SepaSampleStatementController(http.Controller):
    @http.route("/sepa_direct_debit/sample_statement/<int:batch_id>", type="http",
                auth="user", methods=["GET"])
    def sample_statement(self, batch_id):
        """The camt.053 of ``sepa.sample.statement`` as a file: the user must be allowed
        to read the batch (access rights and company rules); outside a demo database, or
        for a batch that is not sent, there is none (404)."""
        batch = request.env["sepa.batch"].browse(batch_id).exists()
        if not batch:
            raise NotFound()
        batch.check_access("read")
        try:
            filename, data = request.env["sepa.sample.statement"]._statement_file(batch)
        except UserError as error:
            raise NotFound() from error
        return request.make_response(data, headers=[
            ("Content-Type", "application/xml; charset=utf-8"),
            ("Content-Disposition", content_disposition(filename)),
        ])
