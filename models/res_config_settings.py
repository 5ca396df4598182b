from odoo import api, fields, models

#: Written to the company together, in one write (see ``set_values``).
FEE_FIELDS = ("sepa_storno_fee_invoice", "sepa_storno_fee_product_id")


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sepa_creditor_identifier = fields.Char(
        related="company_id.sepa_creditor_identifier",
        readonly=False,
        string="SEPA Creditor Identifier",
        help="Creditor identifier (incassant ID) of the company, e.g. NL08ZZZ502057730000.",
    )
    sepa_oneoff_reuse_after_storno = fields.Boolean(
        related="company_id.sepa_oneoff_reuse_after_storno",
        readonly=False,
        string="Reuse One-off Mandate After Storno",
        help="A one-off mandate whose debit failed after settlement is active again for "
        "one more attempt instead of staying closed.",
    )
    sepa_transit_account_id = fields.Many2one(
        related="company_id.sepa_transit_account_id",
        readonly=False,
        string="Direct Debits in Transit Account",
        help="Account debited when a batch is sent, until the bank's credit settles it.",
    )
    sepa_pain_version = fields.Selection(
        related="company_id.sepa_pain_version",
        readonly=False,
        string="pain.008 Version",
        help="Version of the direct debit files.",
    )
    sepa_bank_lead_days = fields.Integer(
        related="company_id.sepa_bank_lead_days",
        readonly=False,
        string="Bank Lead Time (days)",
        help="Business days your bank needs before the interbank lead time.",
    )
    sepa_collection_day = fields.Integer(
        related="company_id.sepa_collection_day",
        readonly=False,
        string="Collection Day of the Month",
        help="Day of the month (1-28) on which the batch proposal collects every invoice "
        "by default; 0: the earliest possible collection date.",
    )
    sepa_merge_all_sequence_types = fields.Boolean(
        related="company_id.sepa_merge_all_sequence_types",
        readonly=False,
        string="Merge All Debits of a Mandate",
        help="Invoices of one mandate in a batch become one debit for every sequence type.",
    )
    sepa_always_rcur = fields.Boolean(
        related="company_id.sepa_always_rcur",
        readonly=False,
        string="Send First Debits as Recurring",
        help="Send RCUR instead of FRST for first debits.",
    )
    sepa_background_threshold = fields.Integer(
        related="company_id.sepa_background_threshold",
        readonly=False,
        string="Background Job Above (lines)",
        help="Larger batches are generated and posted by a background job.",
    )
    sepa_notice_days = fields.Integer(
        related="company_id.sepa_notice_days",
        readonly=False,
        string="Pre-notification Period",
        help="Calendar days the customer must be told of amount and date before a debit.",
    )
    sepa_notice_method = fields.Selection(
        related="company_id.sepa_notice_method",
        readonly=False,
        string="Send the Pre-notification",
        help="On the invoice, by a separate e-mail per debit, or both.",
    )
    sepa_notice_check = fields.Boolean(
        related="company_id.sepa_notice_check",
        readonly=False,
        string="Check Pre-notification in Proposals",
        help="Debits notified too late are shifted or left out; invoices never notified "
        "are listed with the reason.",
    )
    sepa_notice_check_from = fields.Date(
        related="company_id.sepa_notice_check_from",
        readonly=False,
        string="Check Invoices Dated From",
        help="Invoices dated before this day are not checked.",
    )
    sepa_storno_auto_revoke = fields.Boolean(
        related="company_id.sepa_storno_auto_revoke",
        readonly=False,
        string="Revoke Mandates with Too Many Stornos",
        help="Revoke a mandate automatically when its storno score reaches the threshold.")
    sepa_storno_threshold = fields.Integer(
        related="company_id.sepa_storno_threshold",
        readonly=False,
        string="Stop a Mandate After (points)",
        help="Storno score at which a mandate is revoked.")
    sepa_storno_account_id = fields.Many2one(
        related="company_id.sepa_storno_account_id",
        readonly=False,
        string="Stornos Outstanding Account",
        help="Account credited for debits returned after settlement until the bank's "
        "debit is reconciled with it.")
    sepa_storno_charge_account_id = fields.Many2one(
        related="company_id.sepa_storno_charge_account_id",
        readonly=False,
        string="Storno Charges Account",
        help="Expense account of the banks' charges for failed debits.")
    sepa_storno_charge_amount = fields.Monetary(
        related="company_id.sepa_storno_charge_amount",
        readonly=False,
        string="Default Storno Charge",
        currency_field="currency_id",
        help="Bank charge booked for a failed debit when the bank gives none (in the "
        "company's currency).")
    sepa_storno_max_charge = fields.Monetary(
        related="company_id.sepa_storno_max_charge",
        readonly=False,
        string="Maximum Bank Charge per Storno",
        currency_field="currency_id",
        help="A bank debit naming a debit is its storno only when the bank took at most "
        "this much more than the debit (in the company's currency); above it the line is "
        "left to reconcile by hand.")
    sepa_storno_mail = fields.Boolean(
        related="company_id.sepa_storno_mail", readonly=False,
        string="Tell the Customer When a Debit Failed",
        help="Registering a failed debit that is the customer's queues an e-mail to the "
        "customer in the customer's language: invoices, amount, date, the reason in plain "
        "words and what happens next.")

    sepa_represent_auto = fields.Boolean(
        related="company_id.sepa_represent_auto",
        readonly=False,
        string="Re-present Failed Debits Automatically",
        help="A debit that failed for want of money (insufficient funds) is collected "
        "again on the first collection date on or after the payday, by itself.")
    sepa_represent_payday = fields.Integer(
        related="company_id.sepa_represent_payday",
        readonly=False,
        string="Payday",
        help="Day of the month your customers get their salary (1-31).")
    sepa_represent_max = fields.Integer(
        related="company_id.sepa_represent_max",
        readonly=False,
        string="Maximum Re-presentations per Invoice",
        help="Re-presentations of an invoice within the period; then its failed debit is "
        "held for the control after reconciliation.")
    sepa_represent_window = fields.Integer(
        related="company_id.sepa_represent_window",
        readonly=False,
        string="Within (days)",
        help="Calendar days in which an invoice's earlier failed debits count.")
    # Not related fields: a related field writes the company on its own, the option
    # before the product, and the company refuses fees without a product. Both are
    # written together by ``set_values``.
    sepa_storno_fee_invoice = fields.Boolean(
        compute="_compute_sepa_storno_fee", store=True, readonly=False,
        string="Re-invoice Storno Fees to the Customer",
        help="Registering a failed debit creates a posted fee invoice for the customer, "
        "collected with the next batch.")
    sepa_storno_fee_product_id = fields.Many2one(
        "product.product",
        compute="_compute_sepa_storno_fee", store=True, readonly=False,
        check_company=True,
        domain="[('type', '=', 'service')]",
        string="Storno Fee Product",
        help="Service invoiced for a failed debit: its account, taxes and (without bank "
        "charge) its sales price.")

    @api.depends("company_id")
    def _compute_sepa_storno_fee(self):
        for settings in self:
            for fname in FEE_FIELDS:
                settings[fname] = settings.company_id[fname]

    def set_values(self):
        super().set_values()
        for settings in self:
            company = settings.company_id
            if any(settings[fname] != company[fname] for fname in FEE_FIELDS):
                company.write(settings._convert_to_write(
                    {fname: settings[fname] for fname in FEE_FIELDS}))
