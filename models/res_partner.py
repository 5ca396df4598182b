from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..constants import SEPA_GROUP
from .sepa_batch_posting import BULK_RANK


class ResPartner(models.Model):
    _inherit = "res.partner"

    sepa_collect = fields.Boolean(
        string="Collect by Direct Debit",
        groups=SEPA_GROUP,
        help="Open invoices of this customer are collected by SEPA direct debit. Setting "
        "it creates a mandate to sign when the customer has none.",
    )
    sepa_mandate_per_invoice = fields.Boolean(
        string="One Mandate per Invoice",
        groups=SEPA_GROUP,
        help="Each posted invoice gets a one-off mandate of its own instead of one "
        "recurring mandate for all invoices.",
    )
    sepa_notice_days = fields.Integer(
        string="Agreed Pre-notification Period",
        groups=SEPA_GROUP,
        help="Calendar days before a debit this customer agreed to be told of it, when "
        "it differs from the company's pre-notification period; 0: the company's.",
    )
    sepa_mandate_ids = fields.One2many(
        "sepa.mandate",
        "partner_id",
        string="SEPA Mandates",
        groups=SEPA_GROUP,
        help="Direct debit mandates signed by this customer.",
    )
    sepa_mandate_count = fields.Integer(
        string="Mandates",
        compute="_compute_sepa_mandate_count",
        groups=SEPA_GROUP,
        help="Number of direct debit mandates of the commercial entity.",
    )
    sepa_storno_count = fields.Integer(
        string="Failed Debits",
        compute="_compute_sepa_storno_count",
        groups=SEPA_GROUP,
        help="Number of registered stornos (failed debits) of the commercial entity.",
    )
    sepa_mandate_warning = fields.Char(
        string="Direct Debit Warning",
        compute="_compute_sepa_mandate_warning",
        groups=SEPA_GROUP,
        help="Why this customer's invoices cannot be collected as configured.",
    )
    sepa_account_warning = fields.Char(
        string="Direct Debit Account Warning",
        compute="_compute_sepa_account_warning",
        groups=SEPA_GROUP,
        help="Mandates of this customer whose account the bank said is no longer valid "
        "(closed or wrong): not collected until the customer gives a new IBAN.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("commercial_partner_id.sepa_mandate_ids")
    def _compute_sepa_mandate_count(self):
        counts = dict(self.env["sepa.mandate"]._read_group(
            [("partner_id", "in", self.commercial_partner_id.ids)],
            groupby=["partner_id"],
            aggregates=["__count"],
        ))
        for partner in self:
            partner.sepa_mandate_count = counts.get(partner.commercial_partner_id, 0)

    def _compute_sepa_storno_count(self):
        counts = dict(self.env["sepa.storno"]._read_group(
            [("partner_id", "in", self.commercial_partner_id.ids), ("state", "=", "done")],
            groupby=["partner_id"],
            aggregates=["__count"],
        ))
        for partner in self:
            partner.sepa_storno_count = counts.get(partner.commercial_partner_id, 0)

    @api.depends(
        "sepa_collect",
        "commercial_partner_id.sepa_mandate_ids.state",
        "commercial_partner_id.sepa_mandate_per_invoice",
    )
    def _compute_sepa_mandate_warning(self):
        for partner in self:
            commercial = partner.commercial_partner_id
            active = commercial.sepa_mandate_ids.filtered(lambda m: m.state == "active")
            if commercial.sepa_collect and not active and not commercial.sepa_mandate_per_invoice:
                partner.sepa_mandate_warning = _(
                    "No valid mandate for %(partner)s: invoices are not collected by direct "
                    "debit until a signed mandate is activated.", partner=commercial.name)
            elif not commercial.sepa_collect and active:
                partner.sepa_mandate_warning = _(
                    "%(partner)s is not collected by direct debit but still has %(count)s "
                    "active mandate(s).", partner=commercial.name, count=len(active))
            else:
                partner.sepa_mandate_warning = False

    @api.depends("commercial_partner_id.sepa_mandate_ids.account_invalid")
    def _compute_sepa_account_warning(self):
        for partner in self:
            flagged = partner.commercial_partner_id.sepa_mandate_ids.filtered(
                "account_invalid")
            partner.sepa_account_warning = flagged and _(
                "Account no longer valid on mandate %(mandates)s (%(reasons)s): it is not "
                "collected until the customer gives a new IBAN.",
                mandates=", ".join(flagged.mapped("name")),
                reasons=", ".join(flagged.invalid_account_storno_id.reason_id.mapped(
                    "display_name"))) or False

    # ------------------------------------------------------------------
    # CONSTRAINT
    # ------------------------------------------------------------------

    @api.constrains("sepa_notice_days")
    def _check_sepa_notice_days(self):
        if any(partner.sepa_notice_days < 0 for partner in self.sudo()):
            raise ValidationError(_("The agreed pre-notification period cannot be negative."))

    # ------------------------------------------------------------------
    # LOW-LEVEL (CRUD)
    # ------------------------------------------------------------------

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + ["sepa_collect", "sepa_mandate_per_invoice",
                                               "sepa_notice_days"]

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        partners._sepa_sync_mandates(switched_to_invoice=partners.filtered(
            lambda p: p.sudo().sepa_mandate_per_invoice))
        return partners

    def write(self, vals):
        if "sepa_mandate_per_invoice" not in vals and "sepa_collect" not in vals:
            return super().write(vals)
        before = {p.id: p.sudo().sepa_mandate_per_invoice for p in self}
        result = super().write(vals)
        switched = self.filtered(
            lambda p: p.sudo().sepa_mandate_per_invoice and not before[p.id])
        self._sepa_sync_mandates(switched_to_invoice=switched)
        return result

    def _increase_rank(self, field, n=1):
        # Posting a batch entry raises its customers' rank in one statement
        # (sepa.batch.posting._increase_customer_rank) instead of one per customer.
        if self.env.context.get(BULK_RANK):
            return
        super()._increase_rank(field, n)

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _sepa_sync_mandates(self, switched_to_invoice):
        """Keep mandates in line with the partner's direct debit preferences.

        A commercial partner collected by direct debit without any recurring mandate to
        sign or active gets one to sign; switching to one mandate per invoice closes the
        recurring mandates that were never signed.
        """
        commercial = self.filtered(lambda p: p == p.commercial_partner_id).sudo()
        switched = switched_to_invoice.filtered(lambda p: p == p.commercial_partner_id)
        if switched:
            switched._sepa_close_unsigned_recurring_mandates()
        wanted = commercial.filtered(
            lambda p: p.sepa_collect and not p.sepa_mandate_per_invoice)
        if not wanted:
            return
        covered = self.env["sepa.mandate"].search([
            ("partner_id", "in", wanted.ids),
            ("mandate_type", "=", "recurring"),
            ("state", "in", ("draft", "active")),
        ]).partner_id
        mandates = self.env["sepa.mandate"].create([
            partner._sepa_prepare_mandate_vals() for partner in wanted - covered
        ])
        mandates._sepa_auto_send_for_signature()

    def _sepa_close_unsigned_recurring_mandates(self):
        """Close (not delete) the recurring mandates to sign of these customers.

        Closing is what a direct debit user may do (deleting is for managers), and it
        keeps the reference of a form that may already be printed and sent to the
        customer, with a note in the mandate's chatter saying why.
        """
        mandates = self.env["sepa.mandate"].search([
            ("partner_id", "in", self.ids),
            ("mandate_type", "=", "recurring"),
            ("state", "=", "draft"),
        ])
        if not mandates:
            return
        mandates.write({"state": "closed"})
        self.env["mail.message"]._sepa_log(  # in the reader's language
            mandates, dict.fromkeys(mandates.ids, [("mandate_closed_unsigned", {})]))

    def _sepa_prepare_mandate_vals(self, invoice=None):
        self.ensure_one()
        bank = self.bank_ids.filtered(lambda account: account.acc_type == "iban")[:1]
        company = (invoice and invoice.company_id) or self.company_id or self.env.company
        return {
            "partner_id": self.id,
            "partner_bank_id": bank.id,
            "mandate_type": "one_off" if invoice else "recurring",
            "invoice_id": invoice and invoice.id,
            "company_id": company.id,
        }

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def action_view_sepa_mandates(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_mandate")
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_view_sepa_stornos(self):
        """Smart button: the failed debits of the customer."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_storno")
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        # the web client shows display_name (the action's own name) before name
        action["name"] = action["display_name"] = _(
            "Failed Debits of %(partner)s", partner=self.commercial_partner_id.name)
        return action

    def action_sepa_create_invoice_mandates(self):
        """Give every open invoice of these customers a one-off mandate to sign."""
        invoices = self.env["account.move"].search([
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            ("commercial_partner_id", "in", self.commercial_partner_id.ids),
        ])
        mandates = invoices._sepa_create_invoice_mandates()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_mandate")
        action["domain"] = [("id", "in", mandates.ids)]
        return action
