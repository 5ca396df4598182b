"""Chatter notes of the addon in the language of the user who reads them.

A note logged with ``mail.message._sepa_log`` keeps, besides its body (written in the
language of the user who caused it, for e-mails and searches), the message's parts:
``[[key, params], ...]``, a key of ``MESSAGES`` and its values. The chatter shows the
body made again from those parts in the reader's language (``_to_store``): translated
at display, not at write. Values: numbers and names as they are; ``{"date": iso}`` a
date in the reader's format; ``{"dated": [[text, iso], ...]}`` texts with their dates;
``{"amount": number, "currency_id": id}`` an amount in the reader's format;
``{"link": [model, id, text]}`` a link to a record; ``{"selection": [model, field, value],
"lower": bool}`` a selection's label; ``{"field": [model, id, field]}`` a record's
(translated) field.
"""

import json

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL, format_amount, format_date
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

#: The notes translated at display; a key is never renamed (stored in the parts).
MESSAGES = {
    "returns_registered_one": _lt("1 failed debit registered from %(file)s."),
    "returns_registered": _lt("%(count)s failed debits registered from %(file)s."),
    "mandate_expired": _lt(
        "Mandate expired: no debit since %(date)s, more than %(months)s months ago."),
    "mandate_closed_unsigned": _lt(
        "Closed unsigned: the customer switched to one mandate per invoice."),
    "mandate_signed_online": _lt(
        "Signed online by %(name)s from %(ip)s, account %(iban)s: the mandate is active. "
        "The evidence (time, IP address, browser, signed text and its SHA-256, signature) "
        "is on the mandate and its printed form."),
    "mandate_closed_replaced": _lt(
        "Closed unsigned: replaced by mandate %(mandate)s, taken over from the previous "
        "package."),
    "mandate_revoked_score": _lt(
        "Mandate revoked automatically: its storno score %(score)s reached the threshold "
        "of %(threshold)s points. Stornos: %(stornos)s"),
    "control_summary": _lt(
        "Control after reconciliation: %(total)s failed debit(s) released: %(retry)s to "
        "retry, %(hold)s held, %(out)s taken out of direct debit."),
    "invoice_debit_failed": _lt(
        "Direct debit failed: %(debit)s, %(kind)s of %(date)s. Reason: %(reason)s "
        "(%(code)s). The invoice is open again; it is collected again once its failed "
        "debit is retried, not while it is held."),
    "control_sequence_types": _lt(
        "Sequence type of the next debit set after a failed first debit: First on "
        "%(first)s mandate(s), Recurring on %(recurring)s."),
    # a bank debit naming a debit that is not its return (sepa.return.matcher)
    "bank_debit_code": _lt(
        "Not registered as a storno: this bank debit names direct debit %(debits)s, "
        "but its bank transaction code %(code)s is not that of a returned direct "
        "debit of ours (e.g. a direct debit another creditor collected from this "
        "account). Reconcile it by hand."),
    "bank_debit_creditor": _lt(
        "Not registered as a storno: this bank debit names direct debit %(debits)s, "
        "but its creditor identifier %(creditor)s is not ours (%(ours)s): a direct "
        "debit another creditor collected from this account. Reconcile it by hand."),
    "bank_debit_less": _lt(
        "Not registered as a storno: this bank debit of %(debited)s names direct "
        "debit %(debits)s of %(amount)s: the bank took less than the debit. "
        "Reconcile it by hand."),
    "bank_debit_charge": _lt(
        "Not registered as a storno: this bank debit of %(debited)s names direct "
        "debit %(debits)s of %(amount)s: the %(charge)s more is above the maximum "
        "bank charge per storno (%(max)s, Settings). If it is the return, reconcile "
        "it by hand with the debit's invoice or batch entry."),
    # a bank debit that may pay several failed debits registered before (a return file)
    "bank_debit_sum_differs": _lt(
        "Not reconciled: this bank debit of %(debited)s names the failed debits "
        "%(debits)s, registered already, whose open amount is %(amount)s. Reconcile it "
        "by hand."),
    "bank_debit_sum_ambiguous": _lt(
        "Not reconciled: this bank debit of %(debited)s is the total of more than one set "
        "of failed debits registered already (%(sets)s). Reconcile it by hand with the "
        "right ones."),
    # Register Bank Credit (sepa.bank.credit)
    "bank_credit": _lt(
        "Bank credit of %(amount)s of %(date)s registered: payment blocks %(paid)s."),
    "bank_credit_reference": _lt("Bank reference: %(reference)s."),
    "bank_credit_settled": _lt("Nothing is open any more."),
    "bank_credit_open": _lt("Still open:"),
    "bank_credit_open_block": _lt("%(block)s (collection date %(date)s): %(amount)s."),
}


class MailMessage(models.Model):
    _inherit = "mail.message"

    sepa_i18n = fields.Json(
        string="Direct Debit Message Parts", readonly=True, copy=False,
        help="What a direct debit note says, as message keys and values: the chatter "
        "shows it in the reader's language.")

    # ------------------------------------------------------------------
    # LOW-LEVEL
    # ------------------------------------------------------------------

    def _to_store(self, store, /, *, fields=None, **kwargs):
        super()._to_store(store, fields=fields, **kwargs)
        if fields is not None and "body" not in fields:
            return
        for message in self.sudo().filtered("sepa_i18n"):
            body = self._sepa_body(message.sepa_i18n)
            if body is not None:
                store.add(self.browse(message.id), {"body": body})

    # ------------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------------

    @api.model
    def _sepa_log(self, records, parts):
        """Log one note on each of ``records`` (one create for all): ``parts`` is
        ``{record id: [(key, params), ...]}``. Returns the messages."""
        if not records:
            return self.browse()
        records = records.browse(sorted(records.ids))
        stored = {record_id: [[key, params] for key, params in record_parts]
                  for record_id, record_parts in parts.items()}
        messages = records._message_log_batch(
            bodies={record.id: self._sepa_body(stored[record.id]) for record in records})
        self.env.execute_query(SQL(
            """UPDATE mail_message m SET sepa_i18n = v.parts
                 FROM unnest(%s::int[], %s::jsonb[]) AS v(id, parts)
                WHERE m.id = v.id""",
            messages.ids, [json.dumps(stored[record.id]) for record in records]))
        messages.invalidate_recordset(["sepa_i18n"])
        return messages

    @api.model
    def _sepa_body(self, parts):
        """The note's body from its parts in this environment's language (None when a
        key is unknown: the stored body is shown)."""
        texts = []
        for key, params in parts:
            term = MESSAGES.get(key)
            if term is None:
                return None
            values = {name: self._sepa_value(value) for name, value in params.items()}
            texts.append(self.env._(term._source, **values) if values
                         else self.env._(term._source))
        return Markup("<p>%s</p>") % Markup(" ").join(texts)  # a link stays a link

    @api.model
    def _sepa_value(self, value):
        if isinstance(value, dict) and "amount" in value:
            return format_amount(self.env, value["amount"],
                                 self.env["res.currency"].browse(value["currency_id"]))
        if isinstance(value, dict) and "date" in value:
            return format_date(self.env, value["date"])
        if isinstance(value, dict) and "dated" in value:
            return ", ".join(f"{text} ({format_date(self.env, day)})"
                             for text, day in value["dated"])
        if isinstance(value, dict) and "link" in value:
            model, res_id, text = value["link"]
            return Markup('<a href="#" data-oe-model="%s" data-oe-id="%s">%s</a>') % (
                model, res_id, text)
        if isinstance(value, dict) and "selection" in value:
            model, fname, key = value["selection"]
            label = dict(self.env[model]._fields[fname]._description_selection(
                self.env)).get(key, key)
            return label.lower() if value.get("lower") else label
        if isinstance(value, dict) and "field" in value:
            model, res_id, fname = value["field"]
            record = self.env[model].sudo().browse(res_id).exists()
            return record[fname] if record else ""
        return value
