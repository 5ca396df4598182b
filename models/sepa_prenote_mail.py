"""The pre-notification e-mail: one per debit of a new batch, before it is collected.

``sepa.batch.proposal.action_create_batch`` calls :meth:`SepaPrenoteMail.notify` with
the lines of the new batch. Companies whose *Send the Pre-notification* is *By e-mail*
or *Both* (``res.company.sepa_notice_method``) send each debit's customer one e-mail,
in the customer's language, through Odoo's mail queue: amount, collection date, the
debited account masked to its last four digits, mandate reference, creditor
identifier and the invoices with their portal links. Invoices merged into one debit
(one end-to-end id) get one e-mail listing them all.

Sent when the batch is created, not when its file is generated: the earliest moment the
amount, date and mandate of each debit are fixed, which leaves the customer the most
days before the collection date (the rulebook asks for the notice period, 14 days
unless agreed otherwise, before it).

Each line records what became of its debit's notice (``sepa.batch.line.notice_state``):
queued, notified (the e-mail was sent: ``notified_date``, and the invoice's *Pre-notified
On* when empty), failed (the mail server refused it) or no e-mail address.

Bulk, as the failed debit e-mail (``sepa.storno.mail``, whose helpers it uses): one
query reads what the e-mails say; the template is rendered once per company and
language with markers where each e-mail's values go; the ``mail.mail`` records and
their messages (the first invoice's chatter trace) are inserted set-wise; the lines get
their state in one UPDATE.
"""

import re
from collections import defaultdict

from markupsafe import Markup, escape

from odoo import Command, api, fields, models
from odoo.tools import SQL, format_amount, format_date

from ..sepa.notice import mask_iban

TEMPLATE = "sepa_direct_debit.mail_template_sepa_prenote"
#: Where a value of one e-mail goes in the text rendered once: ``__SEPA_<name>__``.
MARKER = re.compile(r"__SEPA_([a-z_]+)__")
VALUES = ("customer", "amount", "date", "account", "mandate", "creditor", "invoices",
          "links")
#: E-mails made (their texts in memory) and inserted at a time.
MAIL_CHUNK = 10000


class SepaPrenoteMail(models.AbstractModel):
    _name = "sepa.prenote.mail"
    _description = "SEPA Direct Debit: Pre-notification E-mails to Customers"

    @api.model
    def notify(self, lines, prepared=None):
        """Queue the pre-notification e-mails of the debits of batch ``lines`` (see the
        module docstring) and record each line's notice state; return the
        ``mail.mail`` records. ``prepared``: what :meth:`_prepare` returned for
        ``lines``, its new tokens written by the caller."""
        if prepared is None:
            prepared = self._prepare(lines)
            if prepared[2]:
                self.env["sepa.storno.mail"]._write_access_tokens(prepared[2])
        rows, tokens, _new = prepared
        if not rows or tokens is None:
            return self.env["mail.mail"]
        template = self.env.ref(TEMPLATE).sudo()
        mailer = self.env["sepa.storno.mail"]
        to_mail = [row for row in rows if row["recipient_id"]]
        groups = defaultdict(list)
        for row in to_mail:
            groups[row["company_id"], row["lang"]].append(row)
        base_url = self.env["account.move"].get_base_url()
        mail_ids, mail_of_debit = [], {}
        for (company_id, lang), group in groups.items():
            rendered = mailer._render(template.with_context(
                **{f"sepa_{name}": f"__SEPA_{name}__" for name in VALUES}),
                company_id, lang, "notice")
            subject = self._segments(rendered["subject"])
            body = self._segments(rendered["body_html"])
            env = self.with_context(lang=lang).env
            formatted = {}  # amounts and dates repeat (membership fees, one collection date)
            # the texts of MAIL_CHUNK e-mails at a time in memory (100,000 e-mails held
            # at once cost hundreds of MB)
            for start in range(0, len(group), MAIL_CHUNK):
                chunk = group[start:start + MAIL_CHUNK]
                vals_list = []
                for row in chunk:
                    values = self._mail_values(env, row, tokens, base_url, formatted)
                    vals_list.append({
                        **rendered["common"],
                        "subject": self._fill(subject, values),
                        "body_html": self._fill(body, values, html=True),
                        "recipient_ids": [Command.link(row["recipient_id"])],
                        "model": "account.move",
                        "res_id": row["invoice_ids"][0],
                        "record_name": row["invoice_names"][0],
                    })
                ids = mailer._create_mails(vals_list).ids
                mail_ids += ids
                mail_of_debit.update(zip((row["first_line_id"] for row in chunk), ids,
                                         strict=True))
        self._record_states(rows, mail_of_debit)
        return self.env["mail.mail"].sudo().browse(mail_ids)

    @api.model
    def _prepare(self, lines):
        """``(rows, tokens, new)``: the debits of ``lines`` to notify (:meth:`_rows`),
        the portal access tokens of the invoices their e-mails link to and, of these, the
        ones to write (their invoices have none yet; ``sepa.batch._add_invoices`` writes
        them in the UPDATE of the invoices' status). ``tokens`` is None when there is
        nothing to send (no debit, or no template)."""
        rows = self._rows(lines)
        if not rows or not self.env.ref(TEMPLATE, raise_if_not_found=False):
            return rows, None, {}
        tokens, new = self.env["sepa.storno.mail"]._new_access_tokens(
            [row for row in rows if row["recipient_id"]])
        return rows, tokens, new

    @staticmethod
    def _segments(text):
        """``text`` rendered once, cut at its markers: the fixed parts at even places,
        the names of the values at odd places (a regular expression per e-mail costs
        a second for 10,000)."""
        return MARKER.split(str(text))

    @staticmethod
    def _fill(segments, values, html=False):
        """The text of one e-mail: ``segments`` with ``values`` in place, escaped in
        HTML (but ``links``, HTML made of escaped values)."""
        parts = list(segments)
        for index in range(1, len(parts), 2):
            value = values[parts[index]]
            parts[index] = str(escape(value)) if html else str(value)
        return "".join(parts)

    @api.model
    def _rows(self, lines):
        """One dict per debit of ``lines`` whose company notifies by e-mail: its lines,
        amount, date, account, mandate, creditor, invoices and who receives the e-mail
        (``recipient_id``: the debtor, else the contact of its first invoice, with an
        e-mail address; None when neither has one). One query."""
        if not lines or not lines.batch_id.company_id.filtered(
                lambda company: company.sepa_notice_method in ("email", "both")):
            return []  # notified on the invoice only: not even the query
        self.env.flush_all()
        langs = [code for code, _name in self.env["res.lang"].get_installed()]
        return self.env.execute_query_dict(SQL("""
            WITH debit AS (
                SELECT l.batch_id, l.end_to_end_id, MIN(l.id) AS first_line_id,
                       ARRAY_AGG(l.id ORDER BY l.id) AS line_ids,
                       MIN(l.collection_date) AS date, SUM(l.amount) AS amount,
                       MIN(l.partner_id) AS partner_id, MIN(l.mandate_id) AS mandate_id,
                       ARRAY_AGG(inv.id ORDER BY inv.id) AS invoice_ids,
                       ARRAY_AGG(inv.name ORDER BY inv.id) AS invoice_names,
                       ARRAY_AGG(inv.access_token ORDER BY inv.id) AS invoice_tokens,
                       (ARRAY_AGG(inv.partner_id ORDER BY inv.id))[1] AS contact_id
                  FROM sepa_batch_line l
                  JOIN account_move inv ON inv.id = l.invoice_id
                 WHERE l.id = ANY(%(ids)s)
              GROUP BY l.batch_id, l.end_to_end_id
            ), addressed AS (
                SELECT d.*, CASE WHEN COALESCE(TRIM(p.email), '') != '' THEN p.id
                                 WHEN COALESCE(TRIM(ct.email), '') != '' THEN ct.id
                            END AS recipient_id
                  FROM debit d
                  JOIN res_partner p ON p.id = d.partner_id
                  LEFT JOIN res_partner ct ON ct.id = d.contact_id
            )
            SELECT a.*, b.company_id, b.currency_id, r.name AS customer,
                   md.name AS mandate, bank.acc_number AS iban,
                   COALESCE(cr.identifier, c.sepa_creditor_identifier) AS creditor,
                   cr.name AS creditor_name, c.name AS company_name,
                   CASE WHEN r.lang = ANY(%(langs)s) THEN r.lang
                        WHEN cp.lang = ANY(%(langs)s) THEN cp.lang
                        ELSE 'en_US' END AS lang
              FROM addressed a
              JOIN sepa_batch b ON b.id = a.batch_id
              JOIN res_company c ON c.id = b.company_id
              JOIN res_partner cp ON cp.id = c.partner_id
              JOIN sepa_mandate md ON md.id = a.mandate_id
              LEFT JOIN sepa_creditor cr ON cr.id = md.creditor_id
              LEFT JOIN res_partner_bank bank ON bank.id = md.partner_bank_id
              LEFT JOIN res_partner r ON r.id = a.recipient_id
             WHERE c.sepa_notice_method IN ('email', 'both')
          ORDER BY a.first_line_id
        """, ids=lines.ids, langs=langs))

    @api.model
    def _mail_values(self, env, row, tokens, base_url, formatted):
        """The values of one e-mail (plain text, but ``links``: HTML); ``formatted``:
        the amounts and dates formatted in ``env``'s language so far."""
        amount = (row["amount"], row["currency_id"])
        if amount not in formatted:
            formatted[amount] = format_amount(
                env, row["amount"], env["res.currency"].browse(row["currency_id"]))
        if row["date"] not in formatted:
            formatted[row["date"]] = format_date(env, row["date"], date_format="long")
        # plain strings escaped by hand: Markup's % and join cost 1.5 s for 10,000 e-mails
        links = Markup("<ul>%s</ul>" % "".join(
            '<li><a href="%s">%s</a></li>' % (
                escape(f"{base_url}/my/invoices/{invoice_id}?access_token={tokens[invoice_id]}"),
                escape(name))
            for invoice_id, name in zip(row["invoice_ids"], row["invoice_names"], strict=True)))
        return {
            "customer": row["customer"] or "",
            "amount": formatted[amount],
            "date": formatted[row["date"]],
            "account": mask_iban(row["iban"]),
            "mandate": row["mandate"],
            # the creditor's name only where it is not the sender's (the company's)
            "creditor": "%s (%s)" % (row["creditor"], row["creditor_name"])
            if row["creditor"] and row["creditor_name"]
            and row["creditor_name"] != row["company_name"] else row["creditor"] or "",
            "invoices": ", ".join(row["invoice_names"]),
            "links": links,
        }

    @api.model
    def _record_states(self, rows, mail_of_debit):
        """Every line of ``rows``: queued with its debit's e-mail, or no e-mail address.
        One UPDATE."""
        line_ids, mail_ids, states = [], [], []
        for row in rows:
            mail_id = mail_of_debit.get(row["first_line_id"])
            for line_id in row["line_ids"]:
                line_ids.append(line_id)
                mail_ids.append(mail_id)
                states.append("queued" if mail_id else "no_email")
        self.env.execute_query(SQL(
            """UPDATE sepa_batch_line l
                  SET notice_state = u.state, notice_mail_id = u.mail_id,
                      write_uid = %s, write_date = %s
                 FROM unnest(%s::int[], %s::int[], %s::varchar[]) AS u(id, mail_id, state)
                WHERE l.id = u.id""",
            self.env.uid, self.env.cr.now(), line_ids, mail_ids, states))
        self.env["sepa.batch.line"].browse(line_ids)._updated_in_sql(
            ["notice_state", "notice_mail_id"])

    @api.model
    def _mails_processed(self, mails):
        """``mails`` were sent or failed (``mail.mail._postprocess_sent_message``):
        the lines they notified become notified today (and their invoices pre-notified
        today, when not before) or failed. Two UPDATEs, nothing when ``mails`` are no
        pre-notifications."""
        if not mails:
            return
        mails.flush_recordset(["state"])
        today = fields.Date.context_today(self)
        rows = self.env.execute_query(SQL(
            """UPDATE sepa_batch_line l
                  SET notice_state = CASE WHEN m.state = 'sent' THEN 'sent' ELSE 'failed' END,
                      notified_date = CASE WHEN m.state = 'sent' THEN %s
                                           ELSE l.notified_date END
                 FROM mail_mail m
                WHERE l.notice_mail_id = m.id AND m.id = ANY(%s)
                  AND m.state IN ('sent', 'exception')
            RETURNING l.id, l.invoice_id, l.notice_state""", today, mails.ids))
        if not rows:
            return
        self.env["sepa.batch.line"].browse(row[0] for row in rows)._updated_in_sql(
            ["notice_state", "notified_date"])
        notified = [row[1] for row in rows if row[2] == "sent"]
        if notified:
            invoices = self.env["account.move"].browse(notified)
            invoices.flush_recordset(["sepa_notified_date"])
            self.env.execute_query(SQL(
                """UPDATE account_move SET sepa_notified_date = %s
                    WHERE id = ANY(%s) AND sepa_notified_date IS NULL""", today, notified))
            invoices.invalidate_recordset(["sepa_notified_date"])
