"""The customer's own page "My direct debits" (controllers/portal.py): what the mandate
shows there and what the customer may do on it (change the account, revoke).

The portal reads and writes with ``sudo()``, limited by the controller to the mandates of
the customer's commercial partner (or the one mandate of its portal access token, the
token of the signing link: models/sepa_mandate_signing.py): portal users have no access
rights on mandates, batches or failed debits.
"""

from collections import defaultdict

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools.translate import LazyTranslate

from ..sepa import SepaError
from ..sepa.ids import validate_iban
from ..sepa.notice import mask_iban, planned_collection_date
from .mail_message import MESSAGES

_lt = LazyTranslate(__name__)

#: The batch states whose pending debits go to the bank whatever happens to the mandate.
SENT_BATCH_STATES = ("generated", "sent")

# The notes of the portal, in the reader's language (mail_message.py).
MESSAGES.update({
    "portal_account_changed": _lt(
        "The customer changed the account online from %(old)s to %(new)s (holder "
        "%(holder)s): an amendment reported with the next debit. Evidence: %(when)s UTC, "
        "IP address %(ip)s, browser %(agent)s."),
    "portal_revoked": _lt(
        "The customer revoked the mandate online. Evidence: %(when)s UTC, IP address "
        "%(ip)s, browser %(agent)s."),
    "portal_revoked_sent": _lt(
        "Debits already sent to the bank are still collected: %(debits)s."),
})


class SepaMandate(models.Model):
    _inherit = "sepa.mandate"

    def _portal_direct_debit_url(self):
        """The mandate's page in "My direct debits" (its ``access_url`` is the signing
        page: controllers/portal_mandate_sign.py)."""
        self.ensure_one()
        return "/my/direct_debits/%s" % self.id

    def _get_report_base_filename(self):
        self.ensure_one()
        return "Mandate-%s" % self.name

    # ------------------------------------------------------------------
    # WHAT THE PAGE SHOWS
    # ------------------------------------------------------------------

    def _portal_masked_iban(self):
        self.ensure_one()
        return mask_iban(self.debtor_iban)

    @staticmethod
    def _portal_reason_text(reason):
        """The failure reason in plain words for the customer: the reason's sentence to
        the customer where the catalogue has one, else its description."""
        if not reason:
            return ""
        return reason.customer_message or reason.name

    def _portal_debits(self, partner=None, limit=100):
        """The debits of these mandates (or of ``partner``, a commercial partner), newest
        first: one dict per debit (invoices merged into one debit share it) of batches
        made into a file. Reads with the caller's rights (the portal passes sudo)."""
        domain = [("batch_id.state", "not in", ("draft", "cancel"))]
        domain.append(("partner_id", "=", partner.id) if partner
                      else ("mandate_id", "in", self.ids))
        lines = self.env["sepa.batch.line"].search(
            domain, order="collection_date desc, id desc", limit=limit)
        debits = defaultdict(lambda: self.env["sepa.batch.line"])
        for line in lines:
            debits[line.batch_id.id, line.end_to_end_id] |= line
        result = []
        for group in debits.values():
            first = group[0]
            result.append({
                "date": first.collection_date,
                "amount": sum(group.mapped("amount")),
                "currency": first.currency_id,
                "invoices": group.invoice_id,
                "mandate": first.mandate_id,
                "state": first.state,
                "sent": first.state == "pending" and first.batch_id.state in SENT_BATCH_STATES,
                "reason": self._portal_reason_text(first.failure_reason_id),
            })
        return result

    def _portal_planned_invoices(self, partner=None):
        """The open invoices of these mandates (or of ``partner``) that a proposal will
        collect, with their planned collection date: the pre-notified date where the
        invoice carries a notice, else the addon's planned date (the due date, or the
        company's collection day of the month after it, on a business day, not before
        today).
        ``[(invoice, date)]``, soonest first."""
        domain = [("move_type", "=", "out_invoice"), ("state", "=", "posted"),
                  ("sepa_state", "=", "to_collect")]
        domain.append(("commercial_partner_id", "=", partner.id) if partner
                      else ("sepa_mandate_id", "in", self.ids))
        invoices = self.env["account.move"].search(domain)
        today = fields.Date.context_today(self)
        rows = [(invoice, invoice.sepa_notice_date or planned_collection_date(
            invoice.invoice_date_due or invoice.invoice_date,
            invoice.company_id.sepa_collection_day, not_before=today))
            for invoice in invoices]
        return sorted(rows, key=lambda row: (row[1], row[0].id))

    def _portal_sent_lines(self):
        """The pending debits of these mandates in batches already made into a file or
        sent: the bank collects them whatever happens to the mandate."""
        return self.env["sepa.batch.line"].search([
            ("mandate_id", "in", self.ids), ("state", "=", "pending"),
            ("batch_id.state", "in", SENT_BATCH_STATES)], order="collection_date, id")

    # ------------------------------------------------------------------
    # WHAT THE CUSTOMER DOES
    # ------------------------------------------------------------------

    def _portal_change_account(self, iban, holder, evidence):
        """The customer gives a new account for this active mandate: the same change as
        the bookkeeper's (another bank account on the mandate: ``write`` records the
        amendment), the bank account created or matched on the customer, the evidence
        (``{"when", "ip", "agent"}``) in the chatter."""
        self.ensure_one()
        if self.state != "active":
            raise UserError(_("Only an active mandate can get another account."))
        try:
            compact = validate_iban(iban)
        except SepaError:
            raise UserError(_(
                "%(iban)s is not a valid IBAN: check the number on your bank card or "
                "statement.", iban=(iban or "").strip() or _("(empty)"))) from None
        old_iban = self.debtor_iban
        if (old_iban or "").replace(" ", "").upper() == compact:
            raise UserError(_("This is already the account of this mandate."))
        holder = (holder or "").strip() or self.partner_id.name
        Bank = self.env["res.partner.bank"].with_context(active_test=False)
        bank = Bank.search([("partner_id", "=", self.partner_id.id),
                            ("sanitized_acc_number", "=", compact)], limit=1)
        if bank:
            bank.write({"active": True, "acc_holder_name": holder})
        else:
            bank = Bank.create({"partner_id": self.partner_id.id, "acc_number": compact,
                                "acc_holder_name": holder})
        self.write({"partner_bank_id": bank.id})
        self.env["mail.message"]._sepa_log(self, {self.id: [("portal_account_changed", {
            "old": old_iban or "", "new": self.debtor_iban, "holder": holder,
            **self._portal_evidence_params(evidence)})]})

    def _portal_revoke(self, evidence):
        """The customer revokes this mandate: revoked today with the reason "revoked by
        the customer online", as the revoke dialog does; the debits already sent are
        named in the chatter. Returns those debits (batch lines)."""
        self.ensure_one()
        if self.state not in ("draft", "active"):
            raise UserError(_("This mandate is no longer in use: there is nothing to revoke."))
        wizard = self.env["sepa.mandate.revoke"].create({
            "mandate_ids": [(6, 0, self.ids)],
            "revocation_date": fields.Date.context_today(self),
            # for the bookkeeper: in the company's language
            "revocation_reason": self.with_context(
                lang=self.company_id.partner_id.lang or "en_US").env._(
                "revoked by the customer online"),
        })
        wizard.action_revoke()
        sent = self._portal_sent_lines()
        parts = [("portal_revoked", self._portal_evidence_params(evidence))]
        if sent:
            parts.append(("portal_revoked_sent", {"debits": ", ".join(
                "%s %s (%s)" % (line.end_to_end_id, line.invoice_id.name,
                                fields.Date.to_string(line.collection_date))
                for line in sent)}))
        self.env["mail.message"]._sepa_log(self, {self.id: parts})
        return sent

    @staticmethod
    def _portal_evidence_params(evidence):
        return {"when": fields.Datetime.to_string(evidence["when"]),
                "ip": evidence.get("ip") or "-", "agent": evidence.get("agent") or "-"}
