from odoo import api, models


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        incoming = lines.filtered(lambda line: line.amount > 0)
        if incoming and not self.env.context.get("sepa_skip_match"):
            self.env["sepa.batch"]._match_statement_lines(incoming)
        return lines
