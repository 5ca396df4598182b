from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..constants import DEFAULT_PAIN_VERSION, PAIN_VERSIONS
from ..sepa import SepaError
from ..sepa.ids import validate_creditor_id
from ..sepa.notice import DEFAULT_NOTICE_DAYS

#: How the debtor is pre-notified of a debit (``sepa_notice_method``).
NOTICE_METHODS = [
    ("invoice", "On the invoice"),
    ("email", "By e-mail per debit"),
    ("both", "Both"),
]

#: (company field, code area, account type, reconcile) of the accounts made with a chart.
SETUP_ACCOUNTS = (
    ("sepa_transit_account_id", "current", "asset_current", True),
    ("sepa_storno_account_id", "current", "asset_current", True),
    ("sepa_storno_charge_account_id", "expense", "expense", False),
)
#: What a branch takes from its parent company.
SETUP_FIELDS = (*(spec[0] for spec in SETUP_ACCOUNTS), "sepa_storno_fee_product_id")


class ResCompany(models.Model):
    _inherit = "res.company"

    sepa_creditor_identifier = fields.Char(
        string="SEPA Creditor Identifier",
        help="Creditor identifier (incassant ID) given by your bank or national authority, "
        "e.g. NL08ZZZ502057730000. Printed on mandates and sent in every direct debit file. "
        "The identifier of the company's first creditor (Creditor Identifiers): setting it "
        "changes that creditor's identifier, or makes the company's first creditor.",
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
        help="Account debited when a batch is sent, until the bank's credit settles it; "
        "made with the chart of accounts (Direct Debits in Transit). Empty: the "
        "outstanding receipts account of the bank journal, else the company's liquidity "
        "transfer account.",
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
    sepa_collection_day = fields.Integer(
        string="Collection Day of the Month",
        default=0,
        help="Day of the month (1-28) on which the batch proposal collects every invoice "
        "by default, so the bank credits once: the first such day on or after the "
        "earliest possible collection date, moved to the next TARGET2 business day when "
        "the bank is closed. 0: no fixed day, the earliest possible collection date.",
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
        "until the bank's debit is reconciled with it; made with the chart of accounts "
        "(Direct Debit Stornos Outstanding). Empty: the outstanding payments account of "
        "the bank journal, else the company's liquidity transfer account.")
    sepa_storno_charge_account_id = fields.Many2one(
        "account.account",
        string="Storno Charges Account",
        check_company=True,
        domain="[('account_type', 'in', ('expense', 'expense_direct_cost'))]",
        help="Expense account of the banks' charges for failed debits; made with the "
        "chart of accounts (Direct Debit Storno Charges). Required to register a failed "
        "debit with a charge.")
    sepa_storno_charge_amount = fields.Monetary(
        string="Default Storno Charge",
        currency_field="currency_id",
        help="Bank charge booked for a failed debit when the bank's file gives none, in the "
        "company's currency (converted to euro at the storno's date); 0: none.")
    sepa_storno_max_charge = fields.Monetary(
        string="Maximum Bank Charge per Storno",
        currency_field="currency_id",
        default=10.0,
        help="A bank statement line that debits the bank and names a debit is its storno "
        "only when the bank took at most this much more than the debit (the bank's "
        "charge), in the company's currency. Above it the line is left to reconcile by "
        "hand, the reason in its chatter.")
    sepa_storno_mail = fields.Boolean(
        string="Tell the Customer When a Debit Failed",
        default=True,
        help="Registering a failed debit that is the customer's (insufficient funds, "
        "account closed, refusal, refund...; not the creditor's or a bank's) queues one "
        "e-mail to the customer, in the customer's language: which invoices, amount, date, "
        "the reason in plain words and what happens next (the planned new collection "
        "date, the invoice's payment link, or a request for a new account or mandate). "
        "Template: Direct Debit: Failed Debit (to the Customer).")
    sepa_sign_auto_send = fields.Boolean(
        string="Send New Mandates for Signature", default=True,
        help="The mandates to sign that the addon creates itself (a customer set to be "
        "collected by direct debit, a one-off mandate per invoice) are e-mailed at once to "
        "the customer with the personal link to sign online. Off: send them with the "
        "mandate's Send for Signature button, or print the form.")
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
        "used, and its sales price when the bank gave no charge. A 'Storno Fee' service "
        "is made with the chart of accounts.")
    sepa_notice_days = fields.Integer(
        string="Pre-notification Period",
        default=DEFAULT_NOTICE_DAYS,
        help="Calendar days the customer must be told of amount and date before a debit "
        "(14 by the SEPA rulebook, unless agreed otherwise; a customer may have an agreed "
        "period of its own).",
    )
    sepa_notice_method = fields.Selection(
        NOTICE_METHODS,
        string="Send the Pre-notification",
        default="invoice",
        required=True,
        help="How customers are told of each debit: on the invoice (its PDF and its "
        "e-mail name the collection date, amount, mandate, creditor identifier and "
        "account), by a separate e-mail per debit, or both.",
    )
    sepa_notice_check = fields.Boolean(
        string="Check Pre-notification in Proposals",
        help="A proposal takes an invoice only when its pre-notification reached the "
        "customer in time: debits notified too late are shifted or left out, invoices "
        "never notified are listed with the reason.",
    )
    sepa_notice_check_from = fields.Date(
        string="Check Invoices Dated From",
        help="Invoices dated before this day (sent before the check was switched on) are "
        "not checked; set to the day the check is switched on.",
    )

    sepa_represent_auto = fields.Boolean(
        string="Re-present Failed Debits Automatically",
        help="A debit that failed for want of money (the return reasons marked Re-present "
        "Automatically: insufficient funds AM04, MS03) is released for retry when it is "
        "registered, planned on the first collection date on or after the payday; the "
        "next proposal collects it then. After the maximum number of re-presentations it "
        "is held for the control after reconciliation.")
    sepa_represent_payday = fields.Integer(
        string="Payday",
        default=25,
        help="Day of the month your customers get their salary (1-31; the month's last "
        "day in shorter months). A failed debit is re-presented on the first collection "
        "date on or after it: this month's while it is still ahead, else next month's.")
    sepa_represent_max = fields.Integer(
        string="Maximum Re-presentations per Invoice",
        default=2,
        help="How many times an invoice is re-presented automatically within the period "
        "below; a debit that fails after that is held for the control after "
        "reconciliation.")
    sepa_represent_window = fields.Integer(
        string="Within (days)",
        default=42,
        help="The period, in calendar days before a failure, in which the invoice's "
        "earlier failed debits count as re-presentations for the maximum.")
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

    @api.constrains("sepa_collection_day")
    def _check_sepa_collection_day(self):
        for company in self:
            if not 0 <= company.sepa_collection_day <= 28:
                raise ValidationError(_(
                    "The collection day of the month must be a day from 0 to 28 (every "
                    "month has it; 0: no fixed day), not %(day)s.",
                    day=company.sepa_collection_day))

    @api.constrains("sepa_notice_days")
    def _check_sepa_notice_days(self):
        for company in self:
            if company.sepa_notice_days < 0:
                raise ValidationError(_(
                    "The pre-notification period of %(company)s cannot be negative.",
                    company=company.name))

    @api.constrains("sepa_storno_max_charge")
    def _check_sepa_storno_max_charge(self):
        for company in self:
            if company.currency_id.compare_amounts(company.sepa_storno_max_charge, 0) < 0:
                raise ValidationError(_(
                    "The maximum bank charge per storno of %(company)s cannot be negative.",
                    company=company.name))

    @api.constrains("sepa_represent_payday", "sepa_represent_max", "sepa_represent_window")
    def _check_sepa_represent(self):
        for company in self:
            if not 1 <= company.sepa_represent_payday <= 31:
                raise ValidationError(_(
                    "The payday of %(company)s must be a day of the month, 1 to 31.",
                    company=company.name))
            if company.sepa_represent_max < 1 or company.sepa_represent_window < 1:
                raise ValidationError(_(
                    "The maximum re-presentations per invoice and their period (days) of "
                    "%(company)s must be at least 1.", company=company.name))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_creditor_identifier(vals)
        companies = super().create(vals_list)
        companies.filtered("sepa_creditor_identifier")._sepa_sync_first_creditor()
        return companies

    def write(self, vals):
        self._normalize_creditor_identifier(vals)
        result = super().write(vals)
        if "sepa_creditor_identifier" in vals and not self.env.context.get(
                "sepa_creditor_sync"):
            self._sepa_sync_first_creditor()
        if vals.get("sepa_notice_check"):
            # the invoices sent from now on carry the notice: check those
            self.filtered(lambda company: not company.sepa_notice_check_from).write({
                "sepa_notice_check_from": fields.Date.context_today(self)})
        return result

    def _sepa_sync_first_creditor(self):
        """The company's identifier was set: it becomes the identifier of its first
        creditor (made when it has none); cleared, the first creditor is archived."""
        Creditor = self.env["sepa.creditor"].sudo().with_context(sepa_creditor_sync=True)
        new = []
        for company in self:
            first = Creditor.search([("company_id", "=", company.id)], limit=1)
            identifier = company.sepa_creditor_identifier
            if first and identifier:
                if first.identifier != identifier:
                    first.write({"identifier": identifier})
            elif first:
                first.active = False
            elif identifier:
                new.append({"name": company.name, "identifier": identifier,
                            "company_id": company.id})
        Creditor.create(new)
        self._sepa_sync_company_identifier()

    def _sepa_migrate_creditors(self):
        """Upgrade to several creditors: each of these companies with an identifier and
        no creditor yet gets one with it, and its mandates and batches without creditor
        belong to its first creditor (one UPDATE each)."""
        Creditor = self.env["sepa.creditor"].sudo().with_context(
            sepa_creditor_sync=True, active_test=False)
        have = set(Creditor.search([("company_id", "in", self.ids)]).company_id.ids)
        Creditor.create([{"name": company.name, "identifier": company.sepa_creditor_identifier,
                          "company_id": company.id}
                         for company in self
                         if company.sepa_creditor_identifier and company.id not in have])
        self._sepa_adopt_without_creditor()

    def _sepa_adopt_without_creditor(self):
        """The mandates and batches of these companies without creditor (made while the
        company had none) belong to its first creditor: one UPDATE each."""
        self.env.flush_all()
        for table in ("sepa_mandate", "sepa_batch"):
            self.env.cr.execute(SQL(
                """UPDATE %(table)s t SET creditor_id = first.id
                     FROM (SELECT DISTINCT ON (company_id) id, company_id
                             FROM sepa_creditor
                            WHERE company_id = ANY(%(companies)s) AND active
                         ORDER BY company_id, sequence, id) first
                    WHERE t.company_id = first.company_id AND t.creditor_id IS NULL""",
                table=SQL.identifier(table), companies=self.ids))
        self.env["sepa.mandate"].invalidate_model(["creditor_id"])
        self.env["sepa.batch"].invalidate_model(["creditor_id"])

    def _sepa_sync_company_identifier(self):
        """The company's identifier is its first active creditor's (none: empty); its
        mandates and batches without creditor get that creditor."""
        Creditor = self.env["sepa.creditor"].sudo()
        self.sudo()._sepa_adopt_without_creditor()
        for company in self.sudo():
            identifier = Creditor.search(
                [("company_id", "=", company.id)], limit=1).identifier or False
            if (company.sepa_creditor_identifier or False) != identifier:
                company.with_context(sepa_creditor_sync=True).write(
                    {"sepa_creditor_identifier": identifier})

    @api.model
    def _normalize_creditor_identifier(self, vals):
        value = vals.get("sepa_creditor_identifier")
        if value:
            vals["sepa_creditor_identifier"] = value.replace(" ", "").upper()

    # ------------------------------------------------------------------
    # BUSINESS: what direct debit needs in a company with a chart of accounts
    # ------------------------------------------------------------------

    def _sepa_setup_direct_debit(self):
        """Give each company with a chart of accounts, where not set yet, its own
        accounts of direct debits in transit, stornos outstanding and storno charges,
        and a storno fee product (fees stay off). Called at install for the companies
        that have a chart, and whenever a chart is loaded (``account.chart.template``).
        A branch takes its parent company's."""
        for company in self.filtered("chart_template").sorted(lambda c: len(c.parent_ids)):
            if company.parent_id:
                root = company.parent_ids[0]
                company.write({fname: root[fname].id for fname in SETUP_FIELDS
                               if not company[fname] and root[fname]})
                continue
            company._sepa_create_accounts()
            if not company.sepa_storno_fee_product_id:
                company._sepa_create_fee_product()

    def _sepa_create_accounts(self):
        """The accounts of ``SETUP_ACCOUNTS`` the company has not set, in one create:
        transit and stornos outstanding numbered after the liquidity transfer account,
        the charges after the cash difference loss account, named in every installed
        language."""
        self.ensure_one()
        Account = self.env["account.account"].with_company(self).with_context(lang="en_US")
        wanted = [spec for spec in SETUP_ACCOUNTS if not self[spec[0]]]
        if not wanted:
            return
        digits = len(self.transfer_account_id.code or "") or 6
        starts = {
            "current": self.transfer_account_id.code
            or (self.bank_account_code_prefix or "1").ljust(digits, "0"),
            "expense": self.default_cash_difference_expense_account_id.code
            or "6".ljust(digits, "0"),
        }
        cache = set(starts.values())
        vals_list = []
        for _fname, area, account_type, reconcile in wanted:
            code = Account._search_new_account_code(starts[area], cache)
            cache.add(code)
            vals_list.append({"code": code, "account_type": account_type,
                              "reconcile": reconcile,
                              "company_ids": [Command.link(self.id)]})
        names = self._sepa_setup_names()
        for vals, spec in zip(vals_list, wanted, strict=True):
            vals["name"] = names["en_US"][spec[0]]
        accounts = Account.create(vals_list)
        for account, spec in zip(accounts, wanted, strict=True):
            account.update_field_translations("name", {
                lang: lang_names[spec[0]] for lang, lang_names in names.items()})
        self.write({spec[0]: account.id for account, spec in zip(accounts, wanted, strict=True)})

    def _sepa_create_fee_product(self):
        """A 'Storno Fee' service of the company, sold at 0 (only the bank's charge is
        re-invoiced until a price is set), taxed with ``_sepa_fee_taxes``."""
        self.ensure_one()
        names = self._sepa_setup_names()
        product = self.env["product.product"].with_company(self).with_context(
            lang="en_US").create({
                "name": names["en_US"]["product"],
                "type": "service",
                "company_id": self.id,
                "list_price": 0.0,
                "sale_ok": True,
                "purchase_ok": False,
                "taxes_id": [Command.set(self._sepa_fee_taxes().ids)],
                "supplier_taxes_id": [Command.clear()],
            })
        product.product_tmpl_id.update_field_translations("name", {
            lang: lang_names["product"] for lang, lang_names in names.items()})
        self.sepa_storno_fee_product_id = product

    def _sepa_fee_taxes(self):
        """Sales taxes of a new storno fee product: the company's default sales tax when
        it is of the company's fiscal country (Odoo refuses an invoice with taxes of
        another country: the generic chart's American tax in a Dutch company), else
        none."""
        self.ensure_one()
        tax = self.account_sale_tax_id
        if tax.country_id and tax.country_id == self.account_fiscal_country_id:
            return tax
        return tax.browse()

    def _sepa_setup_names(self):
        """``{language: {field: name}}`` of the accounts and the product made by
        ``_sepa_setup_direct_debit``, in English and every installed language."""
        languages = {"en_US"} | {code for code, _name in self.env["res.lang"].get_installed()}
        names = {}
        for lang in languages:
            env = self.with_context(lang=lang).env
            names[lang] = {
                "sepa_transit_account_id": env._("Direct Debits in Transit"),
                "sepa_storno_account_id": env._("Direct Debit Stornos Outstanding"),
                "sepa_storno_charge_account_id": env._("Direct Debit Storno Charges"),
                "product": env._("Storno Fee"),
            }
        return names

    def _sepa_demo_load_chart(self):
        """Demo data (``make run``): the Dutch chart with Dutch VAT when ``l10n_nl`` is
        installed (the addon does not depend on it), else the generic chart with the
        Netherlands as fiscal country and a storno fee product without its American
        tax. Odoo's demo entries are left out; the generic chart sets the company in
        USD with the US as fiscal country: set back before any entry exists."""
        dutch = self.env["ir.module.module"].search_count(
            [("name", "=", "l10n_nl"), ("state", "=", "installed")])
        for company in self:
            # _load, not try_loading: that one warns while the registry is loading
            self.env["account.chart.template"]._load(
                "nl" if dutch else "generic_coa", company, False)
            company.write({"currency_id": self.env.ref("base.EUR").id,
                           "account_fiscal_country_id": self.env.ref("base.nl").id})
            company.sepa_storno_fee_product_id.taxes_id = company._sepa_fee_taxes()

    # ------------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------------

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

    def _sepa_registration_warnings(self, transit_journals, storno_journals, charged,
                                    count):
        """What registering ``count`` failed debits would refuse, or leave out, with the
        company's settings, as sentences (shown by the return import's preview):
        ``transit_journals`` are the bank journals of rejects of sent batches (booked on
        transit), ``storno_journals`` those of the others (stornos outstanding),
        ``charged`` how many have a bank charge."""
        self.ensure_one()
        warnings = []
        for journals, account_of in ((transit_journals, self._sepa_transit_account),
                                     (storno_journals, self._sepa_storno_account)):
            for journal in journals:
                try:
                    account_of(journal)
                except UserError as error:
                    warnings.append(error.args[0])
        if charged and not self.sepa_storno_charge_account_id:
            warnings.append(_(
                "Set a 'Storno Charges Account' for %(company)s in Accounting settings "
                "(Direct Debit): failed debits with a bank charge (%(count)s in this file) "
                "cannot be registered without it.", company=self.name, count=charged))
        product = self.sepa_storno_fee_product_id
        if count and self.sepa_storno_fee_invoice and not product:
            warnings.append(_(
                "Storno fees are re-invoiced but %(company)s has no storno fee product: no "
                "fee invoice will be made. Choose one in Accounting settings (Direct "
                "Debit).", company=self.name))
        elif count and self.sepa_storno_fee_invoice and (charged or product.lst_price):
            taxes = product.taxes_id.filtered_domain(
                self.env["account.tax"]._check_company_domain(self))
            foreign = taxes.filtered(
                lambda tax: tax.country_id != self.account_fiscal_country_id)
            if foreign:
                warnings.append(_(
                    "The storno fee product %(product)s has taxes of another country than "
                    "the fiscal country of %(company)s (%(taxes)s): Odoo refuses fee invoices "
                    "with them, and registration stops. Give the product taxes of "
                    "%(country)s (or none) first.", product=product.display_name, company=self.name,
                    taxes=", ".join(foreign.mapped("name")),
                    country=self.account_fiscal_country_id.name))
        return warnings

    def _sepa_creditor_identifiers(self):
        """``{company id: (identifier, ...)}``: every creditor identifier of these
        companies (archived creditors too, then the company's own field): a return
        naming any of them is one of ours. One query."""
        result = {company.id: [] for company in self}
        creditors = self.env["sepa.creditor"].sudo().with_context(active_test=False)
        for row in creditors.search_read([("company_id", "in", self.ids)],
                                         ["company_id", "identifier"]):
            result[row["company_id"][0]].append(row["identifier"])
        for company in self:
            if company.sepa_creditor_identifier and \
                    company.sepa_creditor_identifier not in result[company.id]:
                result[company.id].append(company.sepa_creditor_identifier)
        return {company_id: tuple(ids) for company_id, ids in result.items()}

    def _sepa_check_creditor_identifier(self):
        """Raise a clear error for companies that cannot collect without an identifier."""
        missing = self.filtered(lambda company: not company.sepa_creditor_identifier)
        if missing:
            raise UserError(
                _("Company %(company)s has no SEPA creditor identifier. Set it in Accounting "
                  "settings (Direct Debit) before printing mandates or collecting.",
                  company=missing[0].name)
            )
