"""The e-mail asking a customer to sign a mandate online, for any number of mandates.

One e-mail per mandate, in the customer's language, with the personal link to the
signing page (the mandate's portal access token). Bulk as the failed debit e-mail
(``sepa_storno_mail.py``): one query reads what the e-mails say, the missing tokens are
made by one UPDATE, the template is rendered once per company and language with markers
filled in per e-mail, the ``mail.mail`` records are made by one ``create`` (each linked
to its mandate: it shows in the mandate's chatter) and the mandates' *Sent for Signature
On/To* by one UPDATE. No ``message_post`` per mandate.
"""

import re
import uuid
from collections import defaultdict

from markupsafe import Markup, escape

from odoo import Command, api, models
from odoo.tools import SQL

TEMPLATE = "sepa_direct_debit.mail_template_sepa_mandate_sign"
#: Where a value of one e-mail goes in the text rendered once: ``__SEPA_<name>__``.
MARKER = re.compile(r"__SEPA_([a-z_]+)__")
VALUES = ("customer", "reference", "link")


class SepaMandateSignMail(models.AbstractModel):
    _name = "sepa.mandate.sign.mail"
    _description = "SEPA Direct Debit: Signature Requests to Customers"

    @api.model
    def send(self, mandates):
        """Queue one e-mail per mandate of ``mandates`` (to sign, customer with an
        e-mail address: the caller checked) and record when and to whom; return the
        ``mail.mail`` records."""
        template = self.env.ref(TEMPLATE).sudo()
        rows = self._rows(mandates)
        if not rows:
            return self.env["mail.mail"]
        tokens = self._access_tokens(rows)
        base_url = mandates[:1].get_base_url()
        default_lang = self._default_lang()
        url_codes = {
            lang["code"]: lang["url_code"] for lang in self.env["res.lang"].with_context(
                active_test=False).search_read([], ["code", "url_code"])}
        groups = defaultdict(list)
        for row in rows:
            groups[row["company_id"], row["lang"]].append(row)
        vals_list = []
        for (company_id, lang), group in groups.items():
            rendered = self._render(template, company_id, lang)
            prefix = "" if lang == default_lang else f"/{url_codes.get(lang, lang)}"
            for row in group:
                link = (f"{base_url}{prefix}/my/sepa_mandate/{row['id']}"
                        f"?access_token={tokens[row['id']]}")
                values = {
                    "customer": escape(row["partner_name"]),
                    "reference": escape(row["name"]),
                    "link": Markup('<a href="%s">%s</a>') % (link, link),
                }
                vals_list.append({
                    **rendered["common"],
                    "subject": MARKER.sub(lambda m, v=values: str(v[m.group(1)]),
                                          rendered["subject"]),
                    "body_html": MARKER.sub(lambda m, v=values: v[m.group(1)],
                                            rendered["body_html"]),
                    # the chatter's note (sanitized: the whole e-mail would cost
                    # most of the time of a thousand)
                    "body": Markup("<p>%s</p>") % self.env._(
                        "Sent for signature to %(email)s, personal link: %(link)s",
                        email=row["email"], link=link),
                    "recipient_ids": [Command.link(row["partner_id"])],
                    "model": "sepa.mandate",
                    "res_id": row["id"],
                })
        mails = self.env["mail.mail"].sudo().create(vals_list)
        self._record_sent(rows)
        self.env["sepa.storno.mail"]._sepa_enqueue_mails(mails)
        return mails

    @api.model
    def _rows(self, mandates):
        """What the e-mails of ``mandates`` say, one dict per mandate (one query)."""
        if not mandates:
            return []
        self.env.flush_all()
        langs = [code for code, _name in self.env["res.lang"].get_installed()]
        return self.env.execute_query_dict(SQL("""
            SELECT md.id, md.name, md.company_id, md.access_token, md.partner_id,
                   p.name AS partner_name, TRIM(p.email) AS email,
                   CASE WHEN p.lang = ANY(%(langs)s) THEN p.lang
                        WHEN cp.lang = ANY(%(langs)s) THEN cp.lang
                        ELSE 'en_US' END AS lang
              FROM sepa_mandate md
              JOIN res_company c ON c.id = md.company_id
              JOIN res_partner cp ON cp.id = c.partner_id
              JOIN res_partner p ON p.id = md.partner_id
             WHERE md.id = ANY(%(ids)s) AND md.state = 'draft'
               AND COALESCE(TRIM(p.email), '') != ''
             ORDER BY md.id
        """, langs=langs, ids=mandates.ids))

    @api.model
    def _access_tokens(self, rows):
        """``{mandate id: portal access token}``, the missing ones made in one UPDATE
        (what ``_portal_ensure_token`` does one record at a time)."""
        tokens = {row["id"]: row["access_token"] for row in rows}
        missing = [mandate_id for mandate_id, token in tokens.items() if not token]
        if missing:
            new = [str(uuid.uuid4()) for _id in missing]
            self.env.execute_query(SQL(
                """UPDATE sepa_mandate md SET access_token = u.token
                     FROM unnest(%s::int[], %s::varchar[]) AS u(id, token)
                    WHERE md.id = u.id AND md.access_token IS NULL""", missing, new))
            tokens.update(zip(missing, new, strict=True))
            self.env["sepa.mandate"].browse(missing).invalidate_recordset(["access_token"])
        return tokens

    @api.model
    def _default_lang(self):
        """The language of a link without language in its path (what the website
        routing takes by default)."""
        return (self.env["ir.default"].sudo()._get("res.partner", "lang")
                or self.env["res.lang"].search([], limit=1).code)

    @api.model
    def _render(self, template, company_id, lang):
        """The template rendered once for ``company_id`` and ``lang``, with markers for
        the values of each e-mail (``sepa.storno.mail._render``, with this e-mail's
        markers): ``{"subject", "body_html", "common"}``."""
        rendered = self.env["sepa.storno.mail"]._render(template.with_context(
            **{f"sepa_{name}": f"__SEPA_{name}__" for name in VALUES}), company_id, lang, None)
        rendered["common"].update({
            "is_notification": True,  # the chatter keeps it after the mail is deleted
            "message_type": "email_outgoing",
        })
        return rendered

    @api.model
    def _record_sent(self, rows):
        """*Sent for Signature On/To* of the mandates of ``rows``: one UPDATE."""
        self.env.execute_query(SQL(
            """UPDATE sepa_mandate md
                  SET sign_sent_date = %s, sign_sent_email = u.email,
                      write_uid = %s, write_date = %s
                 FROM unnest(%s::int[], %s::varchar[]) AS u(id, email)
                WHERE md.id = u.id""",
            self.env.cr.now(), self.env.uid, self.env.cr.now(),
            [row["id"] for row in rows], [row["email"] for row in rows]))
        self.env["sepa.mandate"].browse(row["id"] for row in rows).invalidate_recordset(
            ["sign_sent_date", "sign_sent_email", "write_uid", "write_date"])
