"""Signing a mandate online: the personal link, the e-mail asking for the signature and
what signing does (``sepa.mandate`` extension, kept apart from the mandate's own file).

The e-mails are queued by ``sepa.mandate.sign.mail`` (one ``create`` for any number of
mandates); the page and the signature call are ``controllers/portal_mandate_sign.py``.
"""

import base64
import hashlib

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import html2plaintext

from ..sepa import SepaError
from ..sepa.ids import mask_account, normalize_iban, validate_iban

#: The EPC authorisation text of the signing page and the signed text, per language
#: (the printed mandate form shows both: report/sepa_mandate_report.xml).
AUTHORISATION_TEMPLATES = {
    "nl": "sepa_direct_debit.report_sepa_mandate_authorisation_nl",
    "en": "sepa_direct_debit.report_sepa_mandate_authorisation_en",
}


class SepaMandate(models.Model):
    _name = "sepa.mandate"
    _inherit = ["sepa.mandate", "portal.mixin"]

    sign_sent_date = fields.Datetime(
        string="Sent for Signature On",
        readonly=True,
        copy=False,
        help="When the e-mail asking the customer to sign this mandate online was queued "
        "(the last time, when sent again).",
    )
    sign_sent_email = fields.Char(
        string="Sent for Signature To",
        readonly=True,
        copy=False,
        help="The e-mail address the link to sign this mandate online was sent to.",
    )
    signed_online = fields.Datetime(
        string="Signed Online At (UTC)",
        readonly=True,
        copy=False,
        help="When the customer signed this mandate on the signing page (UTC).",
    )
    signed_ip = fields.Char(
        string="Signed From IP Address", readonly=True, copy=False,
        help="Evidence: the IP address the mandate was signed from.")
    signed_user_agent = fields.Char(
        string="Signed With Browser", readonly=True, copy=False,
        help="Evidence: the browser (user agent) the mandate was signed with.")
    signed_email = fields.Char(
        string="Link Sent To", readonly=True, copy=False,
        help="Evidence: the e-mail address the signing link had been sent to.")
    signed_by = fields.Char(
        string="Signed By", readonly=True, copy=False,
        help="Evidence: the name the signer typed under the signature.")
    signed_place = fields.Char(
        string="Place of Signature", readonly=True, copy=False,
        help="Evidence: the place the signer gave.")
    signed_text = fields.Text(
        string="Signed Text", readonly=True, copy=False,
        help="Evidence: the mandate text and values exactly as signed; its SHA-256 is "
        "stored next to it.")
    signed_hash = fields.Char(
        string="SHA-256 of the Signed Text", readonly=True, copy=False,
        help="Evidence: the SHA-256 (hexadecimal) of the signed text in UTF-8: computing "
        "it again from the text gives this value as long as the text was not changed.")
    signed_signature = fields.Binary(
        string="Signature", readonly=True, copy=False, attachment=True,
        help="Evidence: the signature the customer drew or typed on the signing page.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    def _compute_access_url(self):
        super()._compute_access_url()
        for mandate in self:
            mandate.access_url = f"/my/sepa_mandate/{mandate.id}"

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    def action_send_for_signature(self):
        """Form button and list action: e-mail each selected mandate to sign its personal
        link. Refuses (nothing sent) when one is not to sign, its customer has no e-mail
        address or its company no creditor identifier."""
        self._check_state(("draft",), _("send for signature"))
        self._sepa_check_can_send()
        mails = self.env["sepa.mandate.sign.mail"].send(self)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _("%(count)s e-mail(s) asking for the signature queued.",
                             count=len(mails)),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _sepa_check_can_send(self):
        no_email = self.filtered(lambda m: not (m.partner_id.email or "").strip())
        if no_email:
            raise UserError(_(
                "These customers have no e-mail address: %(mandates)s. Enter one on the "
                "customer, or print the mandate form instead.",
                mandates=", ".join(f"{m.name} ({m.partner_id.name})" for m in no_email)))
        for company in self.company_id:
            company._sepa_check_creditor_identifier()

    def _sepa_auto_send_for_signature(self):
        """The addon created these mandates to sign (a new direct debit customer, a
        one-off mandate per invoice): send them for signature where the company asks
        for it (*Send New Mandates for Signature*) and the customer has an e-mail
        address. Nothing is refused: the others are printed or sent by hand."""
        mandates = self.sudo().filtered(
            lambda m: m.state == "draft" and m.company_id.sepa_sign_auto_send
            and m.company_id.sepa_creditor_identifier
            and (m.partner_id.email or "").strip())
        if mandates:
            self.env["sepa.mandate.sign.mail"].send(mandates)

    def _sepa_sign_language(self, lang):
        """``nl`` or ``en``: the language of the EPC text for ``lang`` (a language code)."""
        return "nl" if (lang or "").startswith("nl") else "en"

    def _sepa_authorisation_text(self, lang):
        """The EPC authorisation text of this mandate in ``lang`` ('nl' or 'en'), as
        plain text: the signing page and the printed form render the same template."""
        self.ensure_one()
        html = self.env["ir.qweb"]._render(AUTHORISATION_TEMPLATES[lang], {
            "o": self, "creditor": self._sepa_creditor_name()})
        paragraphs = html2plaintext(html).split("\n\n")
        return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())

    def _sepa_signed_text(self, values, lang):
        """The text the customer signs: the mandate's values, the EPC text and what the
        customer entered, in the page's language (``lang``: 'nl' or 'en'). ``values``:
        holder, iban, place, name, date, signed_at, email, signature_hash."""
        self.ensure_one()
        env_lang = "nl_NL" if lang == "nl" else "en_US"
        mandate = self.with_context(lang=env_lang)
        env = mandate.env
        company = mandate.company_id
        address = ", ".join(filter(None, [
            company.street, company.street2, " ".join(filter(None, [company.zip, company.city])),
            company.country_id.name]))
        mandate_type = dict(mandate._fields["mandate_type"]._description_selection(env))[
            mandate.mandate_type]
        lines = [
            env._("SEPA Direct Debit Mandate"),
            env._("Creditor: %(value)s", value=mandate._sepa_creditor_name()),
            env._("Creditor address: %(value)s", value=address),
            env._("Creditor identifier: %(value)s", value=mandate._sepa_creditor_identifier()),
            env._("Mandate reference: %(value)s", value=mandate.name),
            env._("Type of payment: %(value)s", value=mandate_type),
            env._("Scheme: %(value)s", value=mandate.scheme),
            "",
            mandate._sepa_authorisation_text(lang),
            "",
            env._("Account holder: %(value)s", value=values["holder"]),
            env._("IBAN: %(value)s", value=values["iban"]),
            env._("Place: %(value)s", value=values["place"]),
            env._("Date of signature: %(value)s", value=values["date"]),
            env._("Signed by: %(value)s", value=values["name"]),
            env._("Signed at (UTC): %(value)s", value=values["signed_at"]),
            env._("Link sent to: %(value)s", value=values["email"] or ""),
            env._("SHA-256 of the signature image: %(value)s", value=values["signature_hash"]),
        ]
        return "\n".join(lines) + "\n"

    @api.model
    def _sepa_signer_today(self, tz_name):
        """Today in the signer's time zone (the browser's, else the customer's, else
        UTC): the signature date."""
        tz = tz_name if tz_name in pytz.all_timezones_set else None
        return fields.Date.context_today(self.with_context(tz=tz or "UTC"))

    def _sepa_sign_online(self, values, evidence):
        """The customer signs this mandate on the signing page.

        ``values``: what the page sent (holder, iban, place, authorise, name, signature
        as base64 PNG, tz, lang); ``evidence``: ip, user_agent. Everything is checked
        first (a ValidationError in the customer's terms, nothing written); then the
        bank account is matched or created on the customer, the mandate becomes active
        with the signature date and the account, the evidence is stored and the
        bookkeeper gets a chatter note. Call it in a savepoint."""
        self.ensure_one()
        mandate = self.sudo()
        if mandate.state != "draft":
            raise ValidationError(_("This mandate can no longer be signed."))
        holder = " ".join((values.get("holder") or "").split())
        place = " ".join((values.get("place") or "").split())
        name = " ".join((values.get("name") or "").split())
        if not holder:
            raise ValidationError(_("Enter the name of the account holder."))
        try:
            iban = validate_iban(values.get("iban") or "")
        except SepaError as error:
            raise ValidationError(_(
                "The IBAN %(iban)s is not valid: %(reason)s",
                iban=values.get("iban") or "", reason=error)) from error
        if not place:
            raise ValidationError(_("Enter the place where you sign."))
        if not values.get("authorise"):
            raise ValidationError(_("Tick the box to authorise the direct debit."))
        if not name:
            raise ValidationError(_("Enter your name under the signature."))
        try:
            signature = base64.b64decode(values.get("signature") or "", validate=True)
        except ValueError:
            signature = b""
        if not signature:
            raise ValidationError(_("Sign the mandate in the signature field."))

        lang = mandate._sepa_sign_language(values.get("lang"))
        now = fields.Datetime.now()
        today = mandate._sepa_signer_today(values.get("tz") or mandate.partner_id.tz)
        email = mandate.sign_sent_email or mandate.partner_id.email or ""
        text = mandate._sepa_signed_text({
            "holder": holder,
            "iban": iban,
            "place": place,
            "name": name,
            "date": fields.Date.to_string(today),
            "signed_at": fields.Datetime.to_string(now),
            "email": email,
            "signature_hash": hashlib.sha256(signature).hexdigest(),
        }, lang)
        bank = mandate._sepa_signing_bank_account(iban, holder)
        mandate.with_context(tz=values.get("tz") or "UTC").write({
            "partner_bank_id": bank.id,
            "signature_date": today,
            "signed_online": now,
            "signed_ip": (evidence.get("ip") or "")[:64],
            "signed_user_agent": (evidence.get("user_agent") or "")[:512],
            "signed_email": email,
            "signed_by": name,
            "signed_place": place,
            "signed_text": text,
            "signed_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "signed_signature": base64.b64encode(signature),
        })
        mandate.with_context(tz=values.get("tz") or "UTC").action_activate()
        self.env["mail.message"]._sepa_log(mandate, {mandate.id: [("mandate_signed_online", {
            "name": name, "iban": mask_account(iban), "ip": evidence.get("ip") or "",
        })]})
        return mandate

    def _sepa_signing_bank_account(self, iban, holder):
        """The customer's bank account with ``iban`` (of the customer or one of its
        contacts), else a new one on the customer."""
        self.ensure_one()
        Bank = self.env["res.partner.bank"].sudo()
        compact = normalize_iban(iban)
        bank = Bank.with_context(active_test=False).search([
            ("sanitized_acc_number", "=", compact),
            ("partner_id", "child_of", self.partner_id.id),
        ], limit=1)
        if bank:
            if not bank.active:
                bank.active = True
            if not bank.acc_holder_name:
                bank.acc_holder_name = holder
            return bank
        return Bank.create({
            "acc_number": iban,
            "partner_id": self.partner_id.id,
            "acc_holder_name": holder,
        })

    def _sepa_masked_iban(self):
        return mask_account(self.partner_bank_id.acc_number)
