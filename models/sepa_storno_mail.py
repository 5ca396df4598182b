"""The e-mail that tells a customer a direct debit failed, for a whole registration.

``sepa.storno.register`` calls :meth:`SepaStornoMail.notify` with the new failed
debits. Only the customer's failures (``sepa.return.reason.fault`` debtor) of companies
with *Tell the Customer When a Debit Failed* (``res.company.sepa_storno_mail``) and
customers with an e-mail address get one. One e-mail per failed debit (the invoices of
one debit together), queued in Odoo's mail queue, in the customer's language.

Bulk: one query reads what the e-mails say; the template is rendered once per company,
language and next step (not once per e-mail), with markers where each e-mail's values
go, filled in afterwards; the invoices' portal tokens are made by one UPDATE; the
``mail.mail`` records and their messages are inserted set-wise (``_create_mails``: what
``create`` writes). Each e-mail is linked to the (first) invoice: its subject shows in
the invoice's chatter (``is_notification``: kept when the sent e-mail is deleted).
"""

import re
import uuid
from collections import defaultdict

from markupsafe import Markup, escape

from odoo import Command, _lt, api, models
from odoo.tools import SQL, format_amount, format_date
from odoo.tools.mail import generate_tracking_message_id

TEMPLATE = "sepa_direct_debit.mail_template_sepa_storno_customer"
#: Where a value of one e-mail goes in the text rendered once: ``__SEPA_<name>__``.
MARKER = re.compile(r"__SEPA_([a-z_]+)__")
VALUES = ("customer", "amount", "date", "invoices", "reason", "retry_date", "links")
#: The reason of a customer's failure whose code has no sentence for the customer.
GENERAL_REASON = _lt("Your bank did not collect it (reason code %(code)s).")


class SepaStornoMail(models.AbstractModel):
    _name = "sepa.storno.mail"
    _description = "SEPA Direct Debit: Failed Debit Messages to Customers"

    @api.model
    def notify(self, stornos):
        """Queue the e-mails telling the customers of ``stornos`` that their debit
        failed (see the module docstring); return the ``mail.mail`` records."""
        rows = self._rows(stornos)
        template = self.env.ref(TEMPLATE, raise_if_not_found=False)
        if not rows or not template:
            return self.env["mail.mail"]
        template = template.sudo()
        tokens = self._access_tokens(rows)
        retry_dates = self._retry_dates(stornos)
        groups = defaultdict(list)
        for row in rows:
            row["retry_date"] = retry_dates.get(row["id"])
            groups[row["company_id"], row["lang"], self._next_step(row)].append(row)
        base_url = self.env["account.move"].get_base_url()
        vals_list = []
        for (company_id, lang, step), group in groups.items():
            rendered = self._render(template, company_id, lang, step)
            env = self.with_context(lang=lang).env
            formatted = {}  # amounts and dates repeat (membership fees, one return date)
            for row in group:
                values = self._mail_values(env, row, tokens, base_url, formatted)
                vals_list.append({
                    **rendered["common"],
                    "subject": MARKER.sub(lambda m, v=values: v[m.group(1)],
                                          rendered["subject"]),
                    "body_html": MARKER.sub(lambda m, v=values: escape(v[m.group(1)]),
                                            rendered["body_html"]),
                    "recipient_ids": [Command.link(row["partner_id"])],
                    "model": "account.move",
                    "res_id": row["invoice_ids"][0],
                    # given: else read invoice by invoice (display_name of each)
                    "record_name": row["invoice_names"][0],
                })
        return self._create_mails(vals_list)

    @api.model
    def _create_mails(self, vals_list):
        """``mail.mail.create(vals_list)`` in three INSERTs (messages, mails, recipients):
        what the ORM's create writes for these values, without its cost per e-mail
        (about 5 ms: defaults, the message's record name, its body sanitised three
        times), which made 5,000 e-mails cost 25 s. The message (the invoice's chatter
        trace) holds the subject; the mail the whole body, made of escaped values."""
        if not vals_list:
            return self.env["mail.mail"]
        env, now = self.env, self.env.cr.now()
        message_ids = [row[0] for row in env.execute_query(SQL(
            """INSERT INTO mail_message (create_uid, create_date, write_uid, write_date,
                      date, model, res_id, record_name, subject, body, message_type,
                      author_id, email_from, reply_to, message_id, mail_server_id,
                      email_add_signature)
               SELECT %(uid)s, %(now)s, %(uid)s, %(now)s, %(date)s, u.model, u.res_id,
                      u.record_name, u.subject, u.body, 'email_outgoing', u.author_id,
                      u.email_from, u.reply_to, u.message_id, u.mail_server_id, TRUE
                 FROM unnest(%(models)s::varchar[], %(res_ids)s::int[],
                             %(record_names)s::varchar[], %(subjects)s::varchar[],
                             %(bodies)s::text[], %(authors)s::int[], %(froms)s::varchar[],
                             %(reply_tos)s::varchar[], %(message_ids)s::varchar[],
                             %(servers)s::int[])
                      AS u(model, res_id, record_name, subject, body, author_id,
                           email_from, reply_to, message_id, mail_server_id)
            RETURNING id""",
            uid=env.uid, now=now, date=now.replace(microsecond=0),
            models=[vals["model"] for vals in vals_list],
            res_ids=[vals["res_id"] for vals in vals_list],
            record_names=[vals["record_name"] for vals in vals_list],
            subjects=[vals["subject"] for vals in vals_list],
            bodies=[str(Markup("<p>%s</p>") % vals["subject"]) for vals in vals_list],
            authors=[vals["author_id"] or None for vals in vals_list],
            froms=[vals["email_from"] or None for vals in vals_list],
            reply_tos=[vals["reply_to"] or None for vals in vals_list],
            message_ids=[generate_tracking_message_id(f"{vals['res_id']}-{vals['model']}")
                         for vals in vals_list],
            servers=[vals["mail_server_id"] or None for vals in vals_list],
        ))]
        mail_ids = [row[0] for row in env.execute_query(SQL(
            """INSERT INTO mail_mail (create_uid, create_date, write_uid, write_date,
                      mail_message_id, body_html, state, is_notification, auto_delete)
               SELECT %(uid)s, %(now)s, %(uid)s, %(now)s, u.message_id, u.body_html,
                      'outgoing', TRUE, u.auto_delete
                 FROM unnest(%(message_ids)s::int[], %(bodies)s::text[],
                             %(auto_delete)s::bool[]) AS u(message_id, body_html, auto_delete)
            RETURNING id""",
            uid=env.uid, now=now, message_ids=message_ids,
            bodies=[str(vals["body_html"]) for vals in vals_list],
            auto_delete=[bool(vals["auto_delete"]) for vals in vals_list]))]
        pairs = [(mail_id, command[1]) for mail_id, vals in zip(mail_ids, vals_list, strict=True)
                 for command in vals["recipient_ids"]]
        env.execute_query(SQL(
            """INSERT INTO mail_mail_res_partner_rel (mail_mail_id, res_partner_id)
               SELECT * FROM unnest(%s::int[], %s::int[])""",
            [pair[0] for pair in pairs], [pair[1] for pair in pairs]))
        env["account.move"].browse({vals["res_id"] for vals in vals_list}).invalidate_recordset(
            ["message_ids"])
        mails = env["mail.mail"].sudo().browse(mail_ids)
        self._sepa_enqueue_mails(mails)
        return mails

    @api.model
    def _sepa_enqueue_mails(self, mails):
        """Have the addon's queued customer e-mails ``mails`` (failed debit,
        pre-notification, signature request) sent in the background: Odoo's mail queue
        cron. Hook: the module ``sepa_direct_debit_queue_job`` sends them in chunks on
        OCA's job queue instead."""
        self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger()

    @api.model
    def _rows(self, stornos):
        """What the e-mails of ``stornos`` say, one dict per failed debit that gets one
        (one query)."""
        if not stornos:
            return []
        self.env.flush_all()
        langs = [code for code, _name in self.env["res.lang"].get_installed()]
        return self.env.execute_query_dict(SQL("""
            SELECT s.id, s.company_id, s.partner_id, p.name AS partner_name, s.date,
                   s.amount, s.currency_id, s.reason_code, rr.needs_new_account,
                   CASE WHEN p.lang = ANY(%(langs)s) THEN p.lang
                        WHEN cp.lang = ANY(%(langs)s) THEN cp.lang
                        ELSE 'en_US' END AS lang,
                   rr.customer_message,
                   ARRAY_AGG(inv.id ORDER BY inv.id) AS invoice_ids,
                   ARRAY_AGG(inv.name ORDER BY inv.id) AS invoice_names,
                   ARRAY_AGG(inv.access_token ORDER BY inv.id) AS invoice_tokens
              FROM sepa_storno s
              JOIN res_company c ON c.id = s.company_id
              JOIN res_partner cp ON cp.id = c.partner_id
              JOIN res_partner p ON p.id = s.partner_id
              JOIN sepa_return_reason rr ON rr.id = s.reason_id
              JOIN sepa_storno_invoice_rel r ON r.storno_id = s.id
              JOIN account_move inv ON inv.id = r.invoice_id
             WHERE s.id = ANY(%(ids)s) AND s.state = 'done' AND c.sepa_storno_mail
               AND rr.fault = 'debtor' AND COALESCE(TRIM(p.email), '') != ''
             GROUP BY s.id, p.id, cp.id, rr.id
             ORDER BY s.id
        """, langs=langs, ids=stornos.ids))

    @api.model
    def _access_tokens(self, rows):
        """``{invoice id: portal access token}``, the missing tokens made in one UPDATE
        (what ``_portal_ensure_token`` does one invoice at a time)."""
        tokens, new = self._new_access_tokens(rows)
        if new:
            self._write_access_tokens(new)
        return tokens

    @api.model
    def _write_access_tokens(self, new):
        """Give the invoices of ``new`` (``{invoice id: token}``) their token, where they
        have none. One UPDATE."""
        self.env.execute_query(SQL(
            """UPDATE account_move m SET access_token = u.token
                 FROM unnest(%s::int[], %s::varchar[]) AS u(id, token)
                WHERE m.id = u.id AND m.access_token IS NULL""", list(new), list(new.values())))
        self.env["account.move"].browse(new).invalidate_recordset(["access_token"])

    @api.model
    def _new_access_tokens(self, rows):
        """``({invoice id: portal access token}, {invoice id: new token})``: the tokens of
        the invoices of ``rows``, new ones made for those without, not written (the
        caller writes ``new``)."""
        tokens = {}
        for row in rows:
            tokens.update(zip(row["invoice_ids"], row["invoice_tokens"], strict=True))
        new = {invoice_id: str(uuid.uuid4())
               for invoice_id, token in tokens.items() if not token}
        tokens.update(new)
        return tokens, new

    @api.model
    def _retry_dates(self, stornos):
        """``{storno id: date}`` of the failed debits that will be collected again by
        themselves, on that date (the e-mail names it): the re-presentation after payday
        planned by the company's policy (``sepa.storno._represent_after_payday``)."""
        return {storno.id: storno.represent_date for storno in stornos
                if storno.release_state == "retry" and storno.represent_date}

    @api.model
    def _next_step(self, row):
        """What the e-mail asks: ``retry`` (a date is planned), ``new_account`` (the
        reason needs a new account or mandate) or ``pay``."""
        if row["retry_date"]:
            return "retry"
        return "new_account" if row["needs_new_account"] else "pay"

    @api.model
    def _render(self, template, company_id, lang, step):
        """The template rendered once for ``company_id``, ``lang`` and ``step``, with
        markers for the values of each e-mail: ``{"subject", "body_html", "common"}``
        (``common``: the values every e-mail of the group shares)."""
        context = {f"sepa_{name}": f"__SEPA_{name}__" for name in VALUES}
        template = template.with_context(lang=lang, sepa_next=step, **context)
        rendered = {
            field: template._render_field(field, [company_id])[company_id]
            for field in ("subject", "body_html", "email_from", "reply_to")
        }
        company = self.env["res.company"].browse(company_id)
        return {
            "subject": rendered["subject"],
            "body_html": rendered["body_html"],
            "common": {
                "email_from": rendered["email_from"] or company.email_formatted,
                "reply_to": rendered["reply_to"] or False,
                "author_id": company.partner_id.id,
                "auto_delete": template.auto_delete,
                "mail_server_id": template.mail_server_id.id,
            },
        }

    @api.model
    def _mail_values(self, env, row, tokens, base_url, formatted):
        """The values of one e-mail (plain text, but ``links``: HTML); ``formatted``:
        the amounts and dates formatted in ``env``'s language so far."""
        amount = (row["amount"], row["currency_id"])
        if amount not in formatted:
            formatted[amount] = format_amount(
                env, row["amount"], env["res.currency"].browse(row["currency_id"]))
        for date in (row["date"], row["retry_date"]):
            if date and date not in formatted:
                formatted[date] = format_date(env, date)
        message = row["customer_message"] or {}
        reason = message.get(env.lang) or message.get("en_US") or env._(
            GENERAL_REASON, code=row["reason_code"])
        links = Markup("<ul>%s</ul>") % Markup().join(
            Markup('<li><a href="%s">%s</a></li>') % (
                f"{base_url}/my/invoices/{invoice_id}?access_token={tokens[invoice_id]}",
                name)
            for invoice_id, name in zip(row["invoice_ids"], row["invoice_names"], strict=True))
        return {
            "customer": row["partner_name"],
            "amount": formatted[amount],
            "date": formatted[row["date"]],
            "invoices": ", ".join(row["invoice_names"]),
            "reason": reason,
            "retry_date": formatted[row["retry_date"]] if row["retry_date"] else "",
            "links": links,
        }
