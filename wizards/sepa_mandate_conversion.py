from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..sepa import SepaError
from ..sepa.charset import check_identifier
from ..sepa.ids import validate_iban


class SepaMandateConversion(models.TransientModel):
    """Moving in: customers collected by direct debit in the previous package get their
    mandate in one go. Those collected before an active "converted" mandate (next debit
    Recurring), the others one to sign. A preview counts both first."""

    _name = "sepa.mandate.conversion"
    _description = "Convert Direct Debit Customers to SEPA Mandates"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company,
        help="The company (creditor) the mandates are given to.")
    partner_ids = fields.Many2many(
        "res.partner", string="Customers", default=lambda self: self._default_partners(),
        help="Customers collected by direct debit without a mandate (none, or only one "
        "still to sign) in this company: those selected in the customer list, else all.")
    collected_before = fields.Selection(
        [("date", "Yes, last collected on the date given"),
         ("payment", "Those with a payment received: on their last payment"),
         ("none", "No: all sign a new mandate")],
        required=True, default="date",
        help="Which customers the previous package already collected: they get an active "
        "converted mandate whose next debit is Recurring (RCUR); the others a mandate to "
        "sign. With payments: a customer's last payment received on a bank journal counts "
        "as the last collection.")
    last_collection_date = fields.Date(
        help="The date the previous package last collected these customers; the 36-month "
        "expiry counts from it.")
    signature_date = fields.Date(
        string="Signature Date of Converted Mandates",
        help="The date of the authorisations the converted mandates stand for (for "
        "authorisations from before SEPA, Dutch banks used 1 November 2009). Empty: each "
        "mandate's last collection date.")
    reference_source = fields.Selection(
        [("sequence", "Generated (mandate sequence)"),
         ("customer", "Kept: the customer's reference")],
        string="Mandate References", required=True, default="sequence",
        help="Generated: the next references of the mandate sequence. Kept: the "
        "customer's internal reference (with the prefix), as many packages numbered "
        "their mandates; the debtor's bank knows the mandate by it.")
    reference_prefix = fields.Char(
        help="Put before the customer's reference, e.g. 'LID-'.")
    preview = fields.Text(
        compute="_compute_preview",
        help="What converting will do, in counts.")
    convert_count = fields.Integer(
        compute="_compute_preview", string="Converted",
        help="Customers who get an active converted mandate.")
    sign_count = fields.Integer(
        compute="_compute_preview", string="To Sign",
        help="Customers who get a new mandate to sign.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    @api.depends("partner_ids", "collected_before", "last_collection_date",
                 "signature_date", "reference_source", "reference_prefix")
    def _compute_preview(self):
        for wizard in self:
            plan = wizard._plan()
            wizard.convert_count = len(plan["convert"])
            wizard.sign_count = len(plan["sign"])
            lines = [
                _("Customers getting an active converted mandate (next debit "
                  "Recurring): %(count)s", count=len(plan["convert"])),
                _("Customers getting a mandate to sign: %(count)s", count=len(plan["sign"])),
                _("Customers with a mandate to sign already (nothing to do): %(count)s",
                  count=len(plan["ready"])),
            ]
            for reason, partners in plan["skipped"].items():
                if partners:
                    lines.append(_("Customers skipped, %(reason)s: %(count)s (%(names)s)",
                                   count=len(partners), reason=reason,
                                   names=", ".join(partners[:10].mapped("display_name"))
                                   + (", ..." if len(partners) > 10 else "")))
            wizard.preview = "\n".join(lines)

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    @api.model
    def _candidate_domain(self):
        company = self.env.company
        return [
            ("sepa_collect", "=", True),
            ("sepa_mandate_per_invoice", "=", False),
            ("parent_id", "=", False),
            ("company_id", "in", [False, company.id]),
            ("sepa_mandate_ids", "not any", [
                ("company_id", "=", company.id),
                ("state", "in", ("active", "revoked", "expired")),
            ]),
        ]

    @api.model
    def _default_partners(self):
        domain = self._candidate_domain()
        if self.env.context.get("active_model") == "res.partner":
            domain.append(("id", "in", self.env.context.get("active_ids") or []))
        return self.env["res.partner"].search(domain)

    def _last_payments(self, partners):
        """``{commercial partner id: date}``: the last payment received from each of
        ``partners`` on a bank journal of the company (one query)."""
        self.env["account.move.line"].flush_model()
        return dict(self.env.execute_query(SQL(
            """SELECT p.commercial_partner_id, MAX(aml.date)
                 FROM account_move_line aml
                 JOIN res_partner p ON p.id = aml.partner_id
                 JOIN account_journal j ON j.id = aml.journal_id
                 JOIN account_account a ON a.id = aml.account_id
                WHERE p.commercial_partner_id = ANY(%s) AND aml.company_id = %s
                  AND aml.parent_state = 'posted' AND a.account_type = 'asset_receivable'
                  AND aml.credit > 0 AND j.type = 'bank' AND aml.date <= %s
             GROUP BY p.commercial_partner_id""",
            partners.ids, self.company_id.id, fields.Date.context_today(self))))

    def _plan(self):
        """What converting does: ``convert`` ``[(partner, bank account, last collection
        date, reference)]``, ``sign`` ``[(partner, bank account, reference)]``,
        ``ready`` (customers with a mandate to sign) and ``skipped`` ``{reason:
        partners}``."""
        self.ensure_one()
        # _origin: in the dialog the wizard is not saved yet and its customers are new
        # records (NewId), which match neither ``partners.ids`` nor a search's results
        partners = self.partner_ids._origin.filtered_domain(self._candidate_domain())
        Partner = self.env["res.partner"]
        skipped = {_("no valid IBAN"): Partner, _("no reference"): Partner,
                   _("reference already used"): Partner,
                   _("no last collection date"): Partner}
        plan = {"convert": [], "sign": [], "ready": Partner, "skipped": skipped}
        if self.collected_before == "date" and not self.last_collection_date:
            skipped[_("no last collection date")] = partners
            return plan
        if not partners:
            return plan
        last = {}
        if self.collected_before == "payment":
            last = self._last_payments(partners)
        elif self.collected_before == "date":
            last = dict.fromkeys(partners.ids, self.last_collection_date)
        drafts = self.env["sepa.mandate"].search_fetch([
            ("partner_id", "in", partners.ids), ("company_id", "=", self.company_id.id),
            ("state", "=", "draft"), ("mandate_type", "=", "recurring")],
            ["partner_id"]).partner_id
        references = self._plan_references(partners)
        for partner in partners:
            collected = partner.id in last
            if not collected and partner in drafts:
                plan["ready"] |= partner
                continue
            bank = partner.bank_ids.filtered(lambda b: b.acc_type == "iban")[:1]
            reason = collected and self._plan_account_problem(bank)
            reference = "/"
            if not reason and references is not None:
                reference, reason = self._plan_reference(partner, references)
            if reason:
                skipped[reason] |= partner
            elif collected:
                plan["convert"].append((partner, bank, last[partner.id], reference))
            else:
                plan["sign"].append((partner, bank, reference))
        return plan

    def _plan_account_problem(self, bank):
        try:
            validate_iban(bank.acc_number or "")
        except SepaError:
            return _("no valid IBAN")
        return None

    def _plan_references(self, partners):
        """Kept references: ``{"ref": {partner id: reference}, "taken": set}`` (the
        references mandates of the company have); None when generated."""
        if self.reference_source != "customer":
            return None
        prefix = self.reference_prefix or ""
        refs = {p.id: p.ref and prefix + p.ref.strip() for p in partners}
        taken = set(self.env["sepa.mandate"].search_fetch([
            ("company_id", "=", self.company_id.id),
            ("name", "in", [ref for ref in refs.values() if ref])], ["name"]).mapped("name"))
        return {"ref": refs, "taken": taken}

    def _plan_reference(self, partner, references):
        """``(reference, problem)`` of ``partner``'s mandate, the reference then taken."""
        reference = references["ref"][partner.id]
        try:
            check_identifier(reference or "", "MndtId", max_len=35)
        except SepaError:
            return None, _("no reference")
        if reference in references["taken"]:
            return None, _("reference already used")
        references["taken"].add(reference)
        return reference, None

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def action_convert(self):
        """Create the mandates in one go (one create); the mandates to sign of the
        converted customers are closed, with a note naming their replacement."""
        self.ensure_one()
        plan = self._plan()
        if not plan["convert"] and not plan["sign"]:
            raise UserError(_("There is nothing to convert:\n%(preview)s",
                              preview=self.preview))
        company = self.company_id.id
        mandates = self.env["sepa.mandate"].create([{
            "partner_id": partner.id,
            "partner_bank_id": bank.id,
            "name": reference,
            "mandate_type": "recurring",
            "company_id": company,
            "state": "active",
            "signature_date": min(self.signature_date or date, date),
            "last_debit_date": date,
            "sequence_type_override": "recurring",
            "converted": True,
        } for partner, bank, date, reference in plan["convert"]] + [{
            "partner_id": partner.id,
            "partner_bank_id": bank.id,
            "name": reference,
            "mandate_type": "recurring",
            "company_id": company,
        } for partner, bank, reference in plan["sign"]])
        mandates._sepa_close_replaced_drafts()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_mandate")
        action["domain"] = [("id", "in", mandates.ids)]
        # the web client shows display_name (the action's own name) before name
        action["name"] = action["display_name"] = _("Converted Mandates")
        return action
