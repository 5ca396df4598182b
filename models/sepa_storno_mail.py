"""The e-mail that tells a customer a direct debit failed, for a whole registration.

``sepa.storno.register`` calls :meth:`SepaStornoMail.notify` with the new failed
debits. Only the customer's failures (``sepa.return.reason.fault`` debtor) of companies
with *Tell the Customer When a Debit Failed* (``res.company.sepa_storno_mail``) and
customers with an e-mail address get one. One e-mail per failed debit (the invoices of
one debit together), queued in Odoo's mail queue, in the customer's language.

Bulk: one query reads what the e-mails say; the template is rendered once per company,
language and next step (not once per e-mail), with markers where each e-mail's values
go, filled in afterwards; the invoices' portal tokens are made by one UPDATE; the
``mail.mail`` records are made by one ``create``. Each e-mail is linked to the (first)
invoice: it shows in the invoice's chatter.
"""

import re
import uuid
from collections import defaultdict

from markupsafe import Markup, escape

from odoo import Command, _lt, api, models
from odoo.tools import SQL, format_amount, format_date

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
            for row in group:
                values = self._mail_values(env, row, tokens, base_url)
                vals_list.append({
                    **rendered["common"],
                    "subject": MARKER.sub(lambda m, v=values: v[m.group(1)],
                                          rendered["subject"]),
                    "body_html": MARKER.sub(lambda m, v=values: escape(v[m.group(1)]),
                                            rendered["body_html"]),
                    "recipient_ids": [Command.link(row["partner_id"])],
                    "model": "account.move",
                    "res_id": row["invoice_ids"][0],
                })
        for vals in vals_list:
            vals["body"] = Markup(vals["body_html"])
        return self.env["mail.mail"].sudo().create(vals_list)

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
        tokens = {}
        for row in rows:
            tokens.update(zip(row["invoice_ids"], row["invoice_tokens"], strict=True))
        missing = [invoice_id for invoice_id, token in tokens.items() if not token]
        if missing:
            new = [str(uuid.uuid4()) for _id in missing]
            self.env.execute_query(SQL(
                """UPDATE account_move m SET access_token = u.token
                     FROM unnest(%s::int[], %s::varchar[]) AS u(id, token)
                    WHERE m.id = u.id AND m.access_token IS NULL""", missing, new))
            tokens.update(zip(missing, new, strict=True))
            self.env["account.move"].browse(missing).invalidate_recordset(["access_token"])
        return tokens

    @api.model
    def _retry_dates(self, stornos):
        """``{storno id: date}`` of the failed debits that will be collected again by
        themselves, on that date (the e-mail names it). None yet: the re-presentation
        after payday (issue 19) fills it."""
        return {}

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
                "is_notification": True,  # the chatter keeps it after the mail is deleted
                "message_type": "email_outgoing",
            },
        }

    @api.model
    def _mail_values(self, env, row, tokens, base_url):
        """The values of one e-mail (plain text, but ``links``: HTML)."""
        currency = env["res.currency"].browse(row["currency_id"])
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
            "amount": format_amount(env, row["amount"], currency),
            "date": format_date(env, row["date"]),
            "invoices": ", ".join(row["invoice_names"]),
            "reason": reason,
            "retry_date": format_date(env, row["retry_date"]) if row["retry_date"] else "",
            "links": links,
        }
