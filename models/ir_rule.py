from contextvars import ContextVar

from odoo import models

#: Models whose refused records an access error never names: debtor names, IBANs,
#: mandate references, invoices and amounts, of another company or for users outside
#: the Direct Debit group.
CONFIDENTIAL_MODELS = frozenset({
    "res.partner.bank",
    "sepa.mandate",
    "sepa.batch",
    "sepa.batch.line",
    "sepa.batch.proposal",
    "sepa.batch.proposal.line",
    # failed debits: named by their end-to-end id and reason, with customer and amounts
    "sepa.storno",
    "sepa.storno.event",
    "sepa.storno.report",
    "sepa.control",
    "sepa.control.line",
    "sepa.return.import",
    "sepa.return.import.line",
})

#: Set while the access error of confidential records is made (read by
#: ``res.users.has_group``). Not a context key: Odoo's method replaces the context.
HIDE_REFUSED_RECORDS = ContextVar("sepa_hide_refused_records", default=False)


class IrRule(models.Model):
    _inherit = "ir.rule"

    def _make_access_error(self, operation, records):
        """In debug mode (open to every internal user) Odoo lists the refused records by
        their display name, i.e. a bank account's IBAN: ids being sequential, every
        debtor IBAN could be listed that way. For debtor data the message is the one of
        normal mode, which names the model only (the rules are not listed either)."""
        if records._name not in CONFIDENTIAL_MODELS:
            return super()._make_access_error(operation, records)
        token = HIDE_REFUSED_RECORDS.set(True)
        try:
            return super()._make_access_error(operation, records)
        finally:
            HIDE_REFUSED_RECORDS.reset(token)
