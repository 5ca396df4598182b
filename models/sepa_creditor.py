from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..sepa import SepaError
from ..sepa.ids import validate_creditor_id

#: ``storno_auto_revoke`` of a creditor: empty is the company's setting.
AUTO_REVOKE = [
    ("on", "Revoke automatically"),
    ("off", "Never revoke automatically"),
]


class SepaCreditor(models.Model):
    """One creditor identifier (incassant) a company collects under.

    A company may collect under several identifiers (one per payment mode, department or
    "incassant"): each mandate belongs to one creditor, a batch collects for one creditor
    and its file carries that creditor's name and identifier. The company's field
    ``sepa_creditor_identifier`` mirrors the identifier of its first creditor (lowest
    sequence), see ``res.company._sepa_sync_first_creditor``.
    """

    _name = "sepa.creditor"
    _description = "SEPA Creditor Identifier"
    _inherit = ["mail.thread"]
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(
        string="Creditor Name",
        required=True,
        tracking=True,
        default=lambda self: self.env.company.name,
        help="The name printed as creditor on the mandate form and the pre-notification "
        "and sent as creditor name in the direct debit files (default: the company's).",
    )
    identifier = fields.Char(
        string="Creditor Identifier",
        required=True,
        tracking=True,
        help="Creditor identifier (incassant ID) given by your bank or national "
        "authority, e.g. NL08ZZZ502057730000. Part of every mandate of this creditor: "
        "changing it is reported to the debtors' banks as an amendment.",
    )
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        help="The company collecting under this identifier.",
    )
    journal_ids = fields.Many2many(
        "account.journal",
        "sepa_creditor_journal_rel", "creditor_id", "journal_id",
        string="Bank Journals",
        check_company=True,
        domain="[('type', '=', 'bank'), ('company_id', '=', company_id)]",
        help="The bank journals (creditor accounts) this creditor collects through. "
        "Empty: any bank journal of the company.",
    )
    active = fields.Boolean(
        default=True, help="Archived creditors get no new mandates or batches.")
    sequence = fields.Integer(
        default=10,
        help="Order of the creditors: the first is the default for new mandates and "
        "proposals, and its identifier is the company's creditor identifier.")
    storno_auto_revoke = fields.Selection(
        AUTO_REVOKE,
        string="Revoke Mandates with Too Many Stornos",
        help="Whether mandates of this creditor are revoked automatically when their "
        "storno score reaches the threshold. Empty: the company's setting.")
    storno_threshold = fields.Integer(
        string="Stop a Mandate After (points)",
        help="Storno score at which a mandate of this creditor is revoked (when automatic "
        "revocation is on). 0: the company's threshold.")
    mandate_count = fields.Integer(
        string="Mandates", compute="_compute_mandate_count",
        help="Mandates given to this creditor.")

    _sql_constraints = [
        ("identifier_company_uniq", "unique(identifier, company_id)",
         "This creditor identifier is already one of the company's creditors."),
    ]

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    def _compute_mandate_count(self):
        counts = dict(self.env["sepa.mandate"]._read_group(
            [("creditor_id", "in", self.ids)], groupby=["creditor_id"],
            aggregates=["__count"]))
        for creditor in self:
            creditor.mandate_count = counts.get(creditor, 0)

    @api.depends("name", "identifier")
    def _compute_display_name(self):
        for creditor in self:
            creditor.display_name = (f"{creditor.name} ({creditor.identifier})"
                                     if creditor.identifier else creditor.name or "")

    @api.model
    def _search_display_name(self, operator, value):
        if operator in ("ilike", "like", "=ilike", "=like", "not ilike") and value:
            positive = operator != "not ilike"
            op = operator if positive else "ilike"
            domain = ["|", ("name", op, value), ("identifier", op, value)]
            return domain if positive else ["!", *domain]
        return super()._search_display_name(operator, value)

    # ------------------------------------------------------------------
    # CONSTRAINT
    # ------------------------------------------------------------------

    @api.constrains("identifier")
    def _check_identifier(self):
        for creditor in self:
            try:
                validate_creditor_id(creditor.identifier)
            except SepaError as error:
                raise ValidationError(_(
                    "%(identifier)s is not a valid SEPA creditor identifier for %(company)s: "
                    "%(reason)s", identifier=creditor.identifier,
                    company=creditor.company_id.name, reason=error)) from error

    @api.constrains("storno_threshold")
    def _check_storno_threshold(self):
        for creditor in self:
            if creditor.storno_threshold < 0:
                raise ValidationError(_(
                    "The storno score threshold of creditor %(creditor)s cannot be negative "
                    "(0: the company's).", creditor=creditor.display_name))

    @api.constrains("journal_ids")
    def _check_journal_ids(self):
        for creditor in self:
            wrong = creditor.journal_ids.filtered(lambda journal: journal.type != "bank")
            if wrong:
                raise ValidationError(_(
                    "Creditor %(creditor)s collects through bank journals only, not "
                    "%(journals)s.", creditor=creditor.display_name,
                    journals=", ".join(wrong.mapped("name"))))

    # ------------------------------------------------------------------
    # LOW-LEVEL (CRUD)
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_identifier(vals)
        creditors = super().create(vals_list)
        if not self.env.context.get("sepa_creditor_sync"):
            creditors.company_id._sepa_sync_company_identifier()
        return creditors

    def write(self, vals):
        self._normalize_identifier(vals)
        if "company_id" in vals:
            used = self.filtered(lambda creditor: creditor.company_id.id != vals["company_id"]
                                 and creditor.mandate_count)
            if used:
                raise UserError(_(
                    "Creditor %(creditor)s has mandates: it cannot move to another company.",
                    creditor=used[0].display_name))
        if vals.get("identifier"):
            self._record_identifier_amendment(vals["identifier"])
        companies = self.company_id
        result = super().write(vals)
        if {"identifier", "sequence", "active", "company_id"} & set(vals) \
                and not self.env.context.get("sepa_creditor_sync"):
            (companies | self.company_id)._sepa_sync_company_identifier()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        used = self.filtered("mandate_count")
        if used or self.env["sepa.batch"].search_count(
                [("creditor_id", "in", self.ids)], limit=1):
            raise UserError(_(
                "Creditors with mandates or batches cannot be deleted; archive them "
                "instead: %(creditors)s",
                creditors=", ".join((used or self).mapped("display_name"))))

    def unlink(self):
        companies = self.company_id
        result = super().unlink()
        companies._sepa_sync_company_identifier()
        return result

    @api.model
    def _normalize_identifier(self, vals):
        value = vals.get("identifier")
        if value:
            vals["identifier"] = value.replace(" ", "").upper()

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _record_identifier_amendment(self, new_identifier):
        """The identifier of these creditors changes to ``new_identifier``: their used
        mandates report the one the debtors' banks know with their next debit (one
        write per creditor and case; back to the original cancels the amendment)."""
        Mandate = self.env["sepa.mandate"]
        for creditor in self.filtered(lambda c: c.identifier != new_identifier):
            used = Mandate.search(Mandate._creditor_amendment_domain(creditor))
            back = used.filtered(lambda m: m.original_creditor_identifier == new_identifier)
            back.write({"original_creditor_identifier": False,
                        "original_creditor_name": False})
            (used - back).filtered(lambda m: not m.original_creditor_identifier).write({
                "original_creditor_identifier": creditor.identifier,
                "original_creditor_name": creditor.name})

    def _storno_threshold(self):
        """The storno score at which this creditor's mandates are revoked: its own
        rule, else the company's; 0 when automatic revocation is off."""
        self.ensure_one()
        company = self.company_id
        auto = (self.storno_auto_revoke == "on" if self.storno_auto_revoke
                else company.sepa_storno_auto_revoke)
        return (self.storno_threshold or company.sepa_storno_threshold) if auto else 0

    def _storno_points_threshold(self):
        """The points of a revoke-at-once reason for this creditor's mandates: its
        threshold when it has its own, else the company's."""
        self.ensure_one()
        return self.storno_threshold or self.company_id.sepa_storno_threshold

    def _check_journal(self, journal):
        """Refuse ``journal`` when this creditor collects through other journals only."""
        self.ensure_one()
        if self.journal_ids and journal not in self.journal_ids:
            raise UserError(_(
                "Creditor %(creditor)s collects through %(journals)s only, not through bank "
                "journal %(journal)s: choose one of its journals or add this one to the "
                "creditor (Direct Debit > Configuration > Creditor Identifiers).",
                creditor=self.display_name, journal=journal.name,
                journals=", ".join(self.journal_ids.mapped("name"))))

    @api.model
    def _default_for_company(self, company):
        """The company's first active creditor (empty when it has none)."""
        return self.browse(self.sudo().search([("company_id", "=", company.id)], limit=1).ids)

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def action_open_mandates(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_mandate")
        action.update({"domain": [("creditor_id", "=", self.id)],
                       "context": {"default_creditor_id": self.id}})
        return action
