from odoo import fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    sepa_oneoff_mandate_ids = fields.One2many(
        "sepa.mandate",
        "invoice_id",
        string="One-off Mandates",
        groups="sepa_direct_debit.group_sepa_user",
        help="One-off direct debit mandates given for this invoice.",
    )

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted._sepa_create_invoice_mandates(only_per_invoice_partners=True)
        return posted

    def _sepa_create_invoice_mandates(self, only_per_invoice_partners=False):
        """Create a one-off mandate to sign for each customer invoice that has none.

        With ``only_per_invoice_partners``, only invoices of customers collected by direct
        debit with one mandate per invoice get one (what posting does).
        """
        invoices = self.sudo().filtered(lambda move: move.move_type == "out_invoice")
        if only_per_invoice_partners:
            invoices = invoices.filtered(
                lambda move: move.commercial_partner_id.sepa_collect
                and move.commercial_partner_id.sepa_mandate_per_invoice)
        if not invoices:
            return self.env["sepa.mandate"]
        covered = self.env["sepa.mandate"].sudo().search([
            ("invoice_id", "in", invoices.ids),
            ("state", "in", ("draft", "active")),
        ]).invoice_id
        return self.env["sepa.mandate"].sudo().create([
            invoice.commercial_partner_id._sepa_prepare_mandate_vals(invoice=invoice)
            for invoice in invoices - covered
        ])
