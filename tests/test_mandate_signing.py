"""Signing a mandate online: the e-mail with the personal link (through the local SMTP
server), the signing page and its call (through the HTTP server, as the customer's
browser), the evidence, single use, access and bulk sending."""

import hashlib
import re
import time
from urllib.parse import urlsplit

from odoo import fields
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from .common import CREDITOR_ID, IBAN_A, IBAN_B, SepaCommon, SepaTourCase, SmtpCaseMixin

LINK = re.compile(r"https?://[^\s\"'<>]+/my/sepa_mandate/\d+\?access_token=[\w-]+")
WRONG_IBAN = "NL20INGB0001234568"  # IBAN_A with a wrong check digit
SIGNATURE = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
             "awAAAABJRU5ErkJggg==")  # a PNG of one pixel


@tagged("post_install", "-at_install")
class TestMandateSigning(SmtpCaseMixin, SepaCommon, SepaTourCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor.email = "penningmeester@eendracht.example"
        cls.mandate = cls.Mandate.create({"partner_id": cls.debtor.id, "name": "MDT-SIGN-1"})

    def send_and_read_link(self, mandate):
        """Send ``mandate`` for signature, deliver the queue; the link of its e-mail."""
        mandate.action_send_for_signature()
        mails = self.env["mail.mail"].sudo().search(
            [("model", "=", "sepa.mandate"), ("res_id", "=", mandate.id)])
        [message] = self.send_mail_queue(mails)
        self.assertEqual(message["X-Envelope-To"].strip(), mandate.partner_id.email)
        [link] = set(LINK.findall(message.get_body(("html",)).get_content()))
        parts = urlsplit(link)
        return f"{parts.path}?{parts.query}"

    def sign(self, path, **values):
        mandate_id = int(re.search(r"/my/sepa_mandate/(\d+)", path).group(1))
        token = path.split("access_token=")[1]
        params = {"access_token": token, "holder": "Vereniging De Eendracht",
                  "iban": IBAN_B, "place": "Utrecht", "authorise": True,
                  "name": "Piet Jansen", "signature": SIGNATURE, "tz": "Europe/Amsterdam",
                  **values}
        return self.make_jsonrpc_request(f"/my/sepa_mandate/{mandate_id}/sign", params)

    def page(self, path, status=200):
        response = self.url_open(path)
        self.assertEqual(response.status_code, status, path + response.text[-3000:])
        return response.text

    # ------------------------------------------------------------------

    def test_email_with_link_and_sent_fields(self):
        path = self.send_and_read_link(self.mandate)
        self.assertEqual(path, f"/my/sepa_mandate/{self.mandate.id}?access_token="
                               f"{self.mandate.access_token}")
        self.assertEqual(self.mandate.sign_sent_email, "penningmeester@eendracht.example")
        self.assertTrue(self.mandate.sign_sent_date)
        sent_not_signed = self.Mandate.search(
            [("state", "=", "draft"), ("sign_sent_date", "!=", False)])
        self.assertEqual(sent_not_signed, self.mandate)
        # the e-mail shows in the mandate's chatter
        self.assertTrue(self.mandate.message_ids.filtered(
            lambda m: m.message_type == "email_outgoing" and "MDT-SIGN-1" in m.subject))

    def test_list_action_sends_the_selection(self):
        second = self.Mandate.create({"partner_id": self.debtor.id, "name": "MDT-SIGN-2"})
        action = self.env.ref("sepa_direct_debit.action_sepa_mandate_send_for_signature")
        action.with_context(active_model="sepa.mandate",
                            active_ids=(self.mandate | second).ids).run()
        self.assertEqual((self.mandate | second).mapped("sign_sent_email"),
                         ["penningmeester@eendracht.example"] * 2)
        messages = self.send_mail_queue()
        self.assertEqual(len([m for m in messages if "MDT-SIGN-" in str(m["Subject"])]), 2)

    def test_send_refused_without_email(self):
        self.debtor.email = False
        with self.assertRaisesRegex(Exception, "no e-mail address"):
            self.mandate.action_send_for_signature()
        self.assertFalse(self.mandate.sign_sent_date)

    def test_send_refused_for_active_mandate(self):
        active = self.create_active_mandate(name="MDT-ACTIVE")
        with self.assertRaisesRegex(Exception, "send for signature"):
            (self.mandate | active).action_send_for_signature()
        self.assertFalse(self.mandate.sign_sent_date)

    def test_page_shows_the_mandate(self):
        path = self.send_and_read_link(self.mandate)
        html = self.page(path)
        for expected in (self.company.name, CREDITOR_ID, "MDT-SIGN-1", "Recurring", "CORE",
                         "entitled to a refund", 'id="sepa_mandate_sign_form"',
                         "sepa_direct_debit.mandate_signature_form"):
            self.assertIn(expected, html)
        self.assertNotIn("also register this mandate", html)

    def test_b2b_page_says_register_with_bank(self):
        self.mandate.scheme = "B2B"
        html = self.page(self.send_and_read_link(self.mandate))
        self.assertIn("also register this mandate", html)
        self.assertIn("business-to-business", html)

    def test_dutch_customer_gets_dutch_link_and_text(self):
        self.env["res.lang"]._activate_lang("nl_NL")
        self.debtor.lang = "nl_NL"
        path = self.send_and_read_link(self.mandate)
        self.assertTrue(path.startswith("/nl/my/sepa_mandate/"), path)
        html = self.page(path)
        self.assertIn("doorlopende incasso-opdrachten", html)
        self.assertNotIn("entitled to a refund", html)

    def test_wrong_iban_refused_nothing_written(self):
        path = self.send_and_read_link(self.mandate)
        banks = self.env["res.partner.bank"].search_count([])
        result = self.sign(path, iban=WRONG_IBAN)
        self.assertIn(WRONG_IBAN, result["error"])
        self.assertIn("not valid", result["error"])
        self.env.invalidate_all()
        self.assertEqual(self.mandate.state, "draft")
        self.assertFalse(self.mandate.signed_online or self.mandate.signature_date)
        self.assertEqual(self.env["res.partner.bank"].search_count([]), banks)
        for values, reason in (({"authorise": False}, "authorise"), ({"place": " "}, "place"),
                               ({"holder": ""}, "account holder"),
                               ({"signature": ""}, "signature")):
            self.assertIn(reason, self.sign(path, **values)["error"])
        self.assertEqual(self.mandate.state, "draft")

    def test_sign_stores_evidence_and_activates(self):
        path = self.send_and_read_link(self.mandate)
        result = self.sign(path, iban="nl91 abna 0417 1643 00")
        self.assertTrue(result.get("force_refresh"), result)
        self.env.invalidate_all()
        mandate = self.mandate
        today = fields.Date.context_today(mandate.with_context(tz="Europe/Amsterdam"))
        self.assertRecordValues(mandate, [{
            "state": "active", "signature_date": today,
            "signed_ip": "127.0.0.1", "signed_email": "penningmeester@eendracht.example",
            "signed_by": "Piet Jansen", "signed_place": "Utrecht",
        }])
        bank = mandate.partner_bank_id
        self.assertEqual((bank.sanitized_acc_number, bank.partner_id, bank.acc_holder_name),
                         (IBAN_B, self.debtor, "Vereniging De Eendracht"))
        self.assertTrue(mandate.signed_user_agent)
        self.assertTrue(mandate.signed_signature)
        # the hash recomputed from the stored text is the stored hash
        self.assertEqual(hashlib.sha256(mandate.signed_text.encode()).hexdigest(),
                         mandate.signed_hash)
        for expected in ("MDT-SIGN-1", CREDITOR_ID, self.company.name, IBAN_B, "Utrecht",
                         "Piet Jansen", "entitled to a refund",
                         "penningmeester@eendracht.example",
                         fields.Datetime.to_string(mandate.signed_online)):
            self.assertIn(expected, mandate.signed_text)
        self.assertTrue(any("Signed online by Piet Jansen" in body
                            for body in mandate.message_ids.mapped("body")))
        # the link is used: a clear page, never the form; signing again does nothing
        html = self.page(path)
        self.assertIn("the mandate is signed", html)
        self.assertIn("NL91 **** **** 4300", html)
        self.assertNotIn("sepa_mandate_sign_form", html)
        self.assertEqual(self.sign(path, iban=IBAN_A), {"force_refresh": True})
        self.assertEqual(mandate.partner_bank_id.sanitized_acc_number, IBAN_B)
        # printed with its evidence
        html = self.env["ir.actions.report"]._render_qweb_html(
            "sepa_direct_debit.action_report_sepa_mandate", mandate.ids)[0].decode()
        for expected in ("Signed online", mandate.signed_hash, "127.0.0.1", "Utrecht",
                         "penningmeester@eendracht.example", "data:image/png;base64,"):
            self.assertIn(expected, html)
        text = self.render_pdf_text("sepa_direct_debit.action_report_sepa_mandate", mandate)
        self.assertIn("Signed by: Piet Jansen", text)

    def test_existing_bank_account_matched(self):
        path = self.send_and_read_link(self.mandate)
        self.sign(path, iban="NL20 INGB 0001 2345 67")
        self.assertEqual(self.mandate.partner_bank_id, self.debtor_bank)

    def test_closed_states_and_changed_token(self):
        path = self.send_and_read_link(self.mandate)
        self.mandate.action_close()
        html = self.page(path)
        self.assertIn("can no longer be signed", html)
        self.assertNotIn("sepa_mandate_sign_form", html)
        self.assertEqual(self.sign(path), {"force_refresh": True})
        self.assertEqual(self.mandate.state, "closed")
        # a token that is no longer the mandate's
        other = self.Mandate.create({"partner_id": self.debtor.id})
        path = self.send_and_read_link(other)
        other.access_token = "0f0f0f0f-new-token"
        html = self.page(path)
        self.assertIn("This link is no longer valid", html)
        self.assertNotIn("sepa_mandate_sign_form", html)
        self.assertEqual(self.sign(path), {"force_refresh": True})
        self.assertEqual(other.state, "draft")

    def test_token_of_one_mandate_only_two_companies(self):
        company_b = self.setup_other_company(name="Company B")["company"]
        company_b.sepa_creditor_identifier = "DE98ZZZ09999999999"
        partner_b = self.env["res.partner"].create({
            "name": "Kunde B", "email": "kunde@b.example", "company_id": company_b.id})
        mandate_b = self.Mandate.with_company(company_b).create({
            "partner_id": partner_b.id, "company_id": company_b.id, "name": "MDT-B"})
        path_b = self.send_and_read_link(mandate_b)
        html = self.page(path_b)
        self.assertIn("Company B", html)
        self.assertIn("DE98ZZZ09999999999", html)
        self.assertNotIn(CREDITOR_ID, html)
        # company B's token with company A's mandate: not found, nothing signed
        self.send_and_read_link(self.mandate)
        wrong = path_b.replace(f"/my/sepa_mandate/{mandate_b.id}?",
                               f"/my/sepa_mandate/{self.mandate.id}?")
        self.page(wrong, status=404)
        self.page(f"/my/sepa_mandate/{self.mandate.id}", status=404)  # no token
        with self.assertRaisesRegex(JsonRpcException, "NotFound"):
            self.sign(wrong)
        self.assertEqual(self.mandate.state, "draft")
        # B's own link signs B's mandate in company B
        self.sign(path_b)
        self.assertEqual(mandate_b.state, "active")
        self.assertEqual(mandate_b.partner_bank_id.partner_id, partner_b)

    def test_auto_send_for_new_customers_is_a_setting(self):
        self.assertTrue(self.env["res.company"].create({"name": "New"}).sepa_sign_auto_send)
        self.company.sepa_sign_auto_send = False
        partner = self.env["res.partner"].create({"name": "Nieuw Lid", "email": "lid@x.example"})
        partner.sepa_collect = True
        self.assertFalse(partner.sepa_mandate_ids.sign_sent_date)  # switched off: not sent
        self.company.sepa_sign_auto_send = True
        partner = self.env["res.partner"].create({"name": "Ander Lid", "email": "ander@x.example"})
        partner.sepa_collect = True
        mandate = partner.sepa_mandate_ids
        self.assertEqual((mandate.state, mandate.sign_sent_email), ("draft", "ander@x.example"))
        [message] = self.send_mail_queue(self.env["mail.mail"].sudo().search(
            [("model", "=", "sepa.mandate"), ("res_id", "=", mandate.id)]))
        self.assertIn(f"/my/sepa_mandate/{mandate.id}?access_token=", self.message_text(message))
        # one-off mandates per invoice too
        partner.sepa_mandate_per_invoice = True
        invoice = self.init_invoice("out_invoice", partner=partner, amounts=[25.0], post=True)
        one_off = self.Mandate.search([("invoice_id", "=", invoice.id)])
        self.assertEqual(one_off.sign_sent_email, "ander@x.example")

    def test_bulk_1000_signature_requests(self):
        partners = self.env["res.partner"].create([
            {"name": f"Lid {n}", "email": f"lid{n}@leden.example"} for n in range(1000)])
        mandates = self.Mandate.create([{"partner_id": p.id} for p in partners])
        self.env.flush_all()
        start = time.perf_counter()
        mandates.action_send_for_signature()
        self.env.flush_all()
        seconds = time.perf_counter() - start
        print(f"1,000 signature requests queued in {seconds:.2f} s")  # noqa: T201
        mails = self.env["mail.mail"].sudo().search([("model", "=", "sepa.mandate"),
                                                     ("res_id", "in", mandates.ids)])
        self.assertEqual(len(mails), 1000)
        self.assertEqual(len(set(mandates.mapped("access_token"))), 1000)
        self.assertTrue(all(mandates.mapped("sign_sent_date")))
        mail = mails.filtered(lambda m: m.res_id == mandates[7].id)
        self.assertIn(f"/my/sepa_mandate/{mandates[7].id}?access_token="
                      f"{mandates[7].access_token}", mail.body_html)
        self.assertLessEqual(seconds, 10)

    def test_tour_sign_from_the_email_link(self):
        self.mandate.name = "MDT-SIGN-TOUR"
        path = self.send_and_read_link(self.mandate)
        self.start_tour(path, "sepa_mandate_sign_tour")
        self.env.invalidate_all()
        self.assertEqual(self.mandate.state, "active")
        self.assertEqual(self.mandate.partner_bank_id.sanitized_acc_number, IBAN_B)
        self.assertTrue(self.mandate.signed_hash)
