"""Reason codes of failed debits (R-transactions) and their storno points.

One record per ISO code, shipped as data (data/sepa_return_reason_data.xml, made from
``sepa/reasons.py``'s CATALOGUE); a code met in a file that is not in the list is created
on the fly as unknown with 1 point. The points apply to every company unless a company
overrides them (``sepa.return.reason.points``).

Whose failure a code is (``fault``) decides, in one place (``_consequences``), what a
failed debit with it brings: only a debtor's failure gets the company's default bank
charge, a fee invoice for the customer and storno points.
"""

from collections import namedtuple

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..sepa.reasons import CATEGORIES, CUSTOMER_MESSAGES, UNKNOWN_POINTS, get_reason

FAULTS = [("debtor", "Debtor"), ("creditor", "Creditor"), ("bank", "Bank")]

#: What a failed debit with a reason brings: ``charge`` (the company's default bank
#: charge when the bank gave none), ``fee`` (re-invoiced to the customer, where the
#: company does so) and ``points`` (added to the mandate's storno score).
Consequences = namedtuple("Consequences", "charge fee points")


class SepaReturnReason(models.Model):
    _name = "sepa.return.reason"
    _description = "SEPA Direct Debit Return Reason"
    _order = "code"
    _rec_names_search = ["code", "name"]

    code = fields.Char(
        required=True, index=True,
        help="ISO 20022 reason code of the R-transaction (e.g. AM04), as the bank sends it.")
    name = fields.Char(
        string="Description", required=True, translate=True,
        help="What the code means, in the user's language.")
    category = fields.Selection(
        [(category, category.capitalize()) for category in CATEGORIES],
        required=True, default="other",
        help="What the failure is about: the debtor's account, the mandate, the amount, "
        "the debtor, a technical one or another (whose failure it is: Whose Failure).")
    points = fields.Integer(
        string="Default Points",
        default=UNKNOWN_POINTS,
        help="Storno points a failed debit with this code adds to its mandate's score, in "
        "every company that does not set its own (below).")
    company_points = fields.Integer(
        string="Points",
        compute="_compute_company_points",
        inverse="_inverse_company_points",
        help="Storno points in the current company: its own value, or the default.")
    company_points_ids = fields.One2many(
        "sepa.return.reason.points", "reason_id", string="Points per Company",
        help="Companies that count this code with other points than the default.")
    retry_makes_sense = fields.Boolean(
        string="Retry Makes Sense",
        help="Collecting the invoice again can succeed without the customer doing "
        "anything (insufficient funds, a technical error between the banks).")
    represent_automatically = fields.Boolean(
        string="Re-present Automatically",
        compute="_compute_represent_automatically", store=True, readonly=False,
        help="A failed debit with this code is collected again after the customer's "
        "payday by itself, where the company re-presents failed debits automatically "
        "(Settings): a debit that failed for want of money (insufficient funds, AM04; "
        "MS03). Not for a refusal, a refund or a closed account: the customer has to act "
        "first.")
    needs_new_account = fields.Boolean(
        string="Needs a New Account or Mandate",
        compute="_compute_catalogue_defaults", store=True, readonly=False,
        help="Collecting again cannot succeed until the customer gives a new account or "
        "a new mandate (account closed, wrong or blocked, no mandate, debtor deceased, "
        "refused by the debtor). The control pre-fills Hold for it; a retry asks for "
        "Retry Anyway and is refused while the mandate still has the account that "
        "failed.")
    invalidates_account = fields.Boolean(
        string="Account No Longer Valid",
        compute="_compute_catalogue_defaults", store=True, readonly=False,
        help="The debtor's account is no longer valid (closed, or not an account): the "
        "mandate of such a failed debit is flagged and not proposed until its IBAN "
        "changes (an amendment).")
    revoke_at_once = fields.Boolean(
        string="Revoke at Once",
        help="A failed debit with this code counts as many points as the company's "
        "threshold: the mandate is revoked at once (account closed, no mandate, ...).")
    keeps_first = fields.Boolean(
        string="Keeps a First Debit First",
        default=True,
        help="A first debit (FRST) rejected with this code stays a first debit: the bank "
        "never saw it (every code except duplicates).")
    fault = fields.Selection(
        FAULTS, string="Whose Failure", required=True, default="debtor",
        help="Debtor: the customer's failure (no funds, account closed, no mandate, "
        "refusal, refund): the failed debit gets the default bank charge, a fee invoice "
        "and storno points. Creditor: ours (file format, a file or debit sent twice, "
        "creditor identifier, data we sent) and Bank: the banks' (a bank not reachable, a "
        "technical or settlement failure): no charge, fee or points.")
    customer_message = fields.Char(
        string="Message to the Customer", translate=True,
        compute="_compute_customer_message", store=True, readonly=False,
        help="The reason in plain words for the customer, one sentence (e.g. There was "
        "not enough balance on your account.), in the e-mail that tells a customer a "
        "debit failed (company setting Tell the Customer When a Debit Failed; only for "
        "the debtor's failures). Empty: a general sentence.")
    known = fields.Boolean(
        default=True,
        help="The code is in the ISO/EPC list; unknown codes are created when a file "
        "brings them, with 1 point, to be completed by hand.")
    active = fields.Boolean(default=True, help="Archived codes are kept for old stornos.")

    _sql_constraints = [
        ("code_uniq", "unique(code)", "A return reason with this code exists already."),
    ]

    @api.depends("code")
    def _compute_catalogue_defaults(self):
        # from the catalogue (sepa/reasons.py): also fills existing codes on update
        for reason in self:
            entry = get_reason(reason.code)
            reason.needs_new_account = entry.needs_new_account
            reason.invalidates_account = entry.invalidates_account

    @api.depends("code")
    def _compute_customer_message(self):
        # from the catalogue (sepa/reasons.py): also fills existing codes on update
        for reason in self:
            reason.customer_message = CUSTOMER_MESSAGES.get((reason.code or "").upper())

    @api.depends("code")
    def _compute_represent_automatically(self):
        # from the catalogue, apart from the other defaults: an update that adds the
        # column fills it without recomputing (and resetting) the flags edited by hand
        for reason in self:
            reason.represent_automatically = get_reason(reason.code).represent_automatically

    @api.depends("points", "company_points_ids.points", "company_points_ids.company_id")
    @api.depends_context("company")
    def _compute_company_points(self):
        own = self._points_of(self.env.company)
        for reason in self:
            reason.company_points = own.get(reason.id, reason.points)

    def _inverse_company_points(self):
        company = self.env.company
        Points = self.env["sepa.return.reason.points"].sudo()
        existing = {row.reason_id.id: row for row in Points.search(
            [("reason_id", "in", self.ids), ("company_id", "=", company.id)])}
        for reason in self:
            if reason.id in existing:
                existing[reason.id].points = reason.company_points
            else:
                Points.create({"reason_id": reason.id, "company_id": company.id,
                               "points": reason.company_points})

    def _points_of(self, company):
        """``{reason id: points}`` of the codes ``company`` overrides (one query)."""
        self.env["sepa.return.reason.points"].flush_model()
        return dict(self.env.execute_query(SQL(
            "SELECT reason_id, points FROM sepa_return_reason_points "
            "WHERE company_id = %s AND reason_id = ANY(%s)", company.id, list(self.ids))))

    def _consequences(self, company):
        """``{reason id: Consequences(charge, fee, points)}`` in ``company``: the one
        answer to "does a failed debit with this reason bring a bank charge, a fee
        invoice, storno points?" (registration, fee invoices and score all ask here).

        Only a debtor's failure does; the creditor's and the bank's bring nothing,
        whatever points a company set. Revoke-at-once codes count the company's
        threshold. One query (the company's own points).
        """
        own = self._points_of(company)
        threshold = company.sepa_storno_threshold
        result = {}
        for reason in self:
            if reason.fault != "debtor":
                result[reason.id] = Consequences(False, False, 0)
                continue
            points = threshold if reason.revoke_at_once else own.get(reason.id, reason.points)
            result[reason.id] = Consequences(True, True, points)
        return result

    def _score_points(self, company):
        """``{reason id: points}`` in ``company`` (see ``_consequences``)."""
        return {reason_id: answer.points
                for reason_id, answer in self._consequences(company).items()}

    @api.model
    def _get_or_create(self, codes):
        """``{code: reason}`` for ``codes``; the codes not in the list yet (proprietary or
        unknown) are created in one ``create`` as unknown, 1 point, nothing dropped."""
        codes = {(code or "").strip().upper() or "NONE" for code in codes}
        found = self.with_context(active_test=False).search([("code", "in", list(codes))])
        by_code = {reason.code: reason for reason in found}
        missing = sorted(codes - set(by_code))
        if missing:
            created = self.sudo().create([self._unknown_vals(code) for code in missing])
            by_code.update({reason.code: reason.sudo(False) for reason in created})
        return by_code

    @api.model
    def _unknown_vals(self, code):
        entry = get_reason(code)
        return {
            "code": code,
            "name": _("Unknown reason %(code)s, to complete", code=code)
            if not entry.known else entry.label,
            "category": entry.category,
            "points": UNKNOWN_POINTS if entry.points is None else entry.points,
            "retry_makes_sense": entry.retry_makes_sense,
            "revoke_at_once": entry.revoke_mandate,
            "keeps_first": entry.keeps_first,
            "fault": entry.fault,
            "known": entry.known,
        }

    @api.depends("code", "name")
    def _compute_display_name(self):
        for reason in self:
            reason.display_name = f"{reason.code} {reason.name or ''}".strip()


class SepaReturnReasonPoints(models.Model):
    _name = "sepa.return.reason.points"
    _description = "SEPA Return Reason Points of a Company"

    reason_id = fields.Many2one(
        "sepa.return.reason", string="Reason", required=True, ondelete="cascade",
        index=True, help="The return reason whose points the company sets.")
    company_id = fields.Many2one(
        "res.company", required=True, ondelete="cascade", default=lambda self: self.env.company,
        help="Company counting the reason with these points.")
    points = fields.Integer(
        required=True, help="Storno points this company counts for the reason.")

    _sql_constraints = [
        ("reason_company_uniq", "unique(reason_id, company_id)",
         "A company sets the points of a reason once."),
    ]
