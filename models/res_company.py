from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..constants import DEFAULT_PAIN_VERSION, PAIN_VERSIONS
from ..sepa import SepaError
from ..sepa.ids import validate_creditor_id


class ResCompany(models.Model):
    _inherit = "res.company"

    sepa_creditor_identifier = fields.Char(
        string="SEPA Creditor Identifier",
        help="Creditor identifier (incassant ID) given by your bank or national authority, "
        "e.g. NL08ZZZ502057730000. Printed on mandates and sent in every direct debit file.",
    )
    sepa_oneoff_reuse_after_storno = fields.Boolean(
        string="Reuse One-off Mandate After Storno",
        help="When the debit of a one-off mandate fails after settlement (a return, "
        "refund or reversal), the mandate is active again for one more attempt instead "
        "of staying closed (once: a second failure closes it).",
    )

    sepa_transit_account_id = fields.Many2one(
        "account.account",
        string="Direct Debits in Transit Account",
        check_company=True,
        domain="[('reconcile', '=', True), ('account_type', 'not in', "
        "('asset_receivable', 'liability_payable'))]",
        help="Account debited when a batch is sent, until the bank's credit settles it. "
        "Empty: the outstanding receipts account of the bank journal.",
    )
    sepa_pain_version = fields.Selection(
        PAIN_VERSIONS,
        string="pain.008 Version",
        default=DEFAULT_PAIN_VERSION,
        required=True,
        help="Version of the direct debit files; a bank journal may override it.",
    )
    sepa_bank_lead_days = fields.Integer(
        string="Bank Lead Time (days)",
        default=1,
        help="TARGET2 business days your bank needs before the interbank lead time: the "
        "file must reach the bank this many days plus one before the collection date.",
    )
    sepa_merge_all_sequence_types = fields.Boolean(
        string="Merge All Debits of a Mandate",
        help="Several invoices of one mandate in a batch become one debit for every "
        "sequence type (first debits are always merged).",
    )
    sepa_always_rcur = fields.Boolean(
        string="Send First Debits as Recurring",
        help="Send RCUR instead of FRST for the first debit of a mandate (allowed by the "
        "EPC rulebook since November 2016; some banks still want FRST).",
    )
    sepa_storno_auto_revoke = fields.Boolean(
        string="Revoke Mandates with Too Many Stornos",
        help="Revoke a mandate automatically when its storno score reaches the threshold "
        "(or at once for reasons such as account closed or no mandate).")
    sepa_storno_threshold = fields.Integer(
        string="Stop a Mandate After (points)",
        default=3,
        help="Storno score at which a mandate is revoked when automatic revocation is on; "
        "a debit settled without storno resets the score to 0.")
    sepa_storno_account_id = fields.Many2one(
        "account.account",
        string="Stornos Outstanding Account",
        check_company=True,
        domain="[('reconcile', '=', True), ('account_type', 'not in', "
        "('asset_receivable', 'liability_payable'))]",
        help="Account credited for debits returned, refunded or reversed after settlement, "
        "until the bank's debit is reconciled with it. Empty: the outstanding payments "
        "account of the bank journal, else the company's liquidity transfer account.")
    sepa_storno_charge_account_id = fields.Many2one(
        "account.account",
        string="Storno Charges Account",
        check_company=True,
        domain="[('account_type', 'in', ('expense', 'expense_direct_cost'))]",
        help="Expense account of the banks' charges for failed debits.")
    sepa_storno_charge_amount = fields.Monetary(
        string="Default Storno Charge",
        currency_field="currency_id",
        help="Bank charge booked for a failed debit when the bank's file gives none; "
        "0: none.")
    sepa_storno_max_charge = fields.Monetary(
        string="Maximum Bank Charge per Storno",
        currency_field="currency_id",
        default=10.0,
        help="A bank statement line that debits the bank and names a debit is its storno "
        "only when the bank took at most this much more than the debit (the bank's "
        "charge). Above it the line is left to reconcile by hand, the reason in its "
        "chatter.")
    sepa_storno_fee_invoice = fields.Boolean(
        string="Re-invoice Storno Fees to the Customer",
        help="Registering a failed debit creates a posted invoice of the storno fee for "
        "the customer (one per customer and registration), collected with the next batch: "
        "the bank charge, or the fee product's sales price when the bank charged nothing.")
    sepa_storno_fee_product_id = fields.Many2one(
        "product.product",
        string="Storno Fee Product",
        check_company=True,
        domain="[('type', '=', 'service')]",
        help="Service invoiced for a failed debit when storno fees are re-invoiced: its "
        "income account and customer taxes (mapped by the customer's fiscal position) are "
        "used, and its sales price when the bank gave no charge.")
    sepa_background_threshold = fields.Integer(
        string="Background Job Above (lines)",
        default=5000,
        help="Batches with more lines than this are generated and posted by a "
        "background job.",
    )

    @api.constrains("sepa_creditor_identifier")
    def _check_sepa_creditor_identifier(self):
        for company in self.filtered("sepa_creditor_identifier"):
            try:
                validate_creditor_id(company.sepa_creditor_identifier)
            except SepaError as error:
                raise ValidationError(
                    _("%(identifier)s is not a valid SEPA creditor identifier for %(company)s: "
                      "%(reason)s",
                      identifier=company.sepa_creditor_identifier, company=company.name,
                      reason=error)
                ) from error

    @api.constrains("sepa_storno_fee_invoice", "sepa_storno_fee_product_id")
    def _check_sepa_storno_fee_product(self):
        for company in self:
            product = company.sepa_storno_fee_product_id
            if company.sepa_storno_fee_invoice and not product:
                raise ValidationError(_(
                    "Choose the storno fee product of %(company)s to re-invoice storno fees "
                    "to the customers.", company=company.name))
            if product and product.type != "service":
                raise ValidationError(_(
                    "The storno fee product %(product)s must be a service.",
                    product=product.display_name))

    @api.constrains("sepa_storno_max_charge")
    def _check_sepa_storno_max_charge(self):
        for company in self:
            if company.currency_id.compare_amounts(company.sepa_storno_max_charge, 0) < 0:
                raise ValidationError(_(
                    "The maximum bank charge per storno of %(company)s cannot be negative.",
                    company=company.name))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_creditor_identifier(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._normalize_creditor_identifier(vals)
        return super().write(vals)

    @api.model
    def _normalize_creditor_identifier(self, vals):
        value = vals.get("sepa_creditor_identifier")
        if value:
            vals["sepa_creditor_identifier"] = value.replace(" ", "").upper()

    def _sepa_transit_account(self, journal):
        """The account of money collected but not yet on the bank statement."""
        self.ensure_one()
        account = self.sepa_transit_account_id or journal.inbound_payment_method_line_ids[
            :1].payment_account_id or self.transfer_account_id
        if not account:
            raise UserError(
                _("Set a 'Direct Debits in Transit Account' for %(company)s in Accounting "
                  "settings (Direct Debit) or an outstanding receipts account on journal "
                  "%(journal)s.", company=self.name, journal=journal.name)
            )
        if not account.reconcile:
            raise UserError(
                _("The direct debits in transit account %(account)s must allow "
                  "reconciliation: the bank's credit is reconciled with it.",
                  account=account.display_name)
            )
        return account

    def _sepa_storno_account(self, journal):
        """The account of debits returned after settlement until the bank's debit."""
        self.ensure_one()
        account = self.sepa_storno_account_id or journal.outbound_payment_method_line_ids[
            :1].payment_account_id or self.transfer_account_id
        if not account:
            raise UserError(
                _("Set a 'Stornos Outstanding Account' for %(company)s in Accounting "
                  "settings (Direct Debit) or an outstanding payments account on journal "
                  "%(journal)s.", company=self.name, journal=journal.name))
        if not account.reconcile:
            raise UserError(
                _("The stornos outstanding account %(account)s must allow reconciliation: "
                  "the bank's debit is reconciled with it.", account=account.display_name))
        return account

    def _sepa_check_creditor_identifier(self):
        """Raise a clear error for companies that cannot collect without an identifier."""
        missing = self.filtered(lambda company: not company.sepa_creditor_identifier)
        if missing:
            raise UserError(
                _("Company %(company)s has no SEPA creditor identifier. Set it in Accounting "
                  "settings (Direct Debit) before printing mandates or collecting.",
                  company=missing[0].name)
            )
