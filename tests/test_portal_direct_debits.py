"""The customer's own page "My direct debits" (controllers/portal.py), as portal users
through HTTP: what it shows, who sees what, the change of account and the revocation."""

import base64
from datetime import date

from lxml import etree

from odoo import fields, http
from odoo.tests import HttpCase, new_test_user, tagged

from ..sepa.notice import planned_collection_date
from .common import IBAN_B, SepaBatchCommon, SepaTourCase

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
IBAN_OTHER_BANK = "NL39RABO0300065264"  # Rabobank: A's mandate is at ABN AMRO
IBAN_SAME_BANK = "NL02ABNA0123456789"   # ABN AMRO too
IBAN_B_COMPANY = "DE89370400440532013000"


class PortalDirectDebitCommon(SepaBatchCommon):
    """Customer A (Jan de Vries, IBAN NL91 ABNA 0417 1643 00) with a collected debit, a
    failed one (AM04), one sent to the bank and an open invoice to collect; a portal user
    of a contact of A. Customer B of a second company with its own portal user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.recurring_partner
        cls.mandate = cls.mandate_recurring
        # collected
        cls.inv_collected = cls.invoice(cls.customer, 30.0)
        cls.inv_other = cls.invoice(cls.debtor, 77.0)  # another customer of the company
        batch = cls.create_batch()
        batch.action_generate()
        batch.action_send()
        batch._settle()
        # failed: not enough balance
        cls.inv_failed = cls.invoice(cls.customer, 40.0)
        batch = cls.create_batch(partner_ids=cls.customer.ids)
        batch.action_generate()
        batch.action_send()
        action = batch.line_ids.action_register_storno()
        cls.reason = cls.env.ref("sepa_direct_debit.return_reason_am04")
        cls.env["sepa.storno.register"].with_context(action["context"]).create(
            {"reason_id": cls.reason.id}).action_register()
        # sent, not settled yet
        cls.inv_sent = cls.invoice(cls.customer, 50.0)
        cls.sent_batch = cls.create_batch(partner_ids=cls.customer.ids)
        cls.sent_batch.action_generate()
        cls.sent_batch.action_send()
        # open, to collect
        cls.inv_open = cls.invoice(cls.customer, 60.0, invoice_date=date(2025, 3, 1))
        cls.contact = cls.env["res.partner"].create(
            {"name": "Jan de Vries jr.", "parent_id": cls.customer.id, "type": "contact"})
        cls.user_a = new_test_user(cls.env, login="portal_dd_a", groups="base.group_portal",
                                   partner_id=cls.contact.id, company_id=cls.company.id)
        # a customer of another company
        cls.company_b = cls.setup_other_company(name="Stichting Bedrijf B")["company"]
        cls.customer_b = cls.env["res.partner"].create(
            {"name": "Klant B", "country_id": cls.env.ref("base.de").id})
        cls.mandate_b = cls.Mandate.create({
            "name": "MDT-B-PORTAL", "partner_id": cls.customer_b.id,
            "company_id": cls.company_b.id, "signature_date": "2025-01-15",
            "partner_bank_id": cls.env["res.partner.bank"].create({
                "acc_number": IBAN_B_COMPANY, "partner_id": cls.customer_b.id}).id,
        })
        cls.mandate_b.action_activate()
        cls.user_b = new_test_user(cls.env, login="portal_dd_b", groups="base.group_portal",
                                   partner_id=cls.customer_b.id,
                                   company_id=cls.company_b.id)


@tagged("post_install", "-at_install")
class TestPortalDirectDebits(PortalDirectDebitCommon, HttpCase):

    def post(self, url, **data):
        return self.url_open(url, data=dict(data, csrf_token=http.Request.csrf_token(self)),
                             headers={"User-Agent": "Mozilla/5.0 (portal test)"})

    def test_page_shows_mandates_debits_and_planned_invoices(self):
        # collected on the company's collection day: Saturday 15 March 2025 → Monday
        self.company.sepa_collection_day = 15
        self.authenticate("portal_dd_a", "portal_dd_a")
        home = self.url_open("/my/home")
        self.assertIn("/my/direct_debits", home.text)
        counters = self.make_jsonrpc_request("/my/counters",
                                             {"counters": ["sepa_mandate_count"]})
        self.assertEqual(counters, {"sepa_mandate_count": 1})
        response = self.url_open("/my/direct_debits")
        self.assertEqual(response.status_code, 200)
        page = response.text
        self.assertIn("My direct debits", page)
        self.assertIn("MDT-RCUR", page)
        self.assertIn("NL** **** **** **4300", page)
        self.assertNotIn("0417", page)  # the IBAN is masked
        self.assertIn("Active", page)
        for invoice in (self.inv_collected, self.inv_failed, self.inv_sent, self.inv_open):
            self.assertIn(invoice.name, page)
        self.assertIn("Collected", page)
        self.assertIn("Failed", page)
        self.assertIn("Sent to the bank", page)
        # the reason in plain words: the catalogue's sentence to the customer
        self.assertIn("There was not enough balance on your account.", page)
        self.assertNotIn("Insufficient funds", page)
        # the planned date of the open invoice: the date its pre-notification announces
        notice_date = self.inv_open.sepa_notice_date
        self.assertTrue(notice_date)
        self.assertEqual(notice_date.day, 15)
        self.assertEqual(self.mandate._portal_planned_invoices(partner=self.customer),
                         [(self.inv_open, notice_date)])
        self.assertIn(notice_date.strftime("%m/%d/%Y"), page)
        # without a notice on the invoice: the planned date of its due date
        self.company.sepa_notice_method = "email"
        self.assertFalse(self.inv_open.sepa_notice_date)
        self.assertEqual(self.mandate._portal_planned_invoices(partner=self.customer), [(
            self.inv_open, planned_collection_date(
            self.inv_open.invoice_date_due, 15, not_before=fields.Date.today()))])
        # another customer's debit is not shown
        self.assertNotIn(self.inv_other.name, page)
        self.assertNotIn("MDT-FIRST", page)
        # a mandate to sign: signed online through its personal link (the signing page)
        to_sign = self.Mandate.create({"name": "MDT-TO-SIGN", "partner_id": self.customer.id})
        page = self.url_open("/my/direct_debits").text
        self.assertIn(f"/my/sepa_mandate/{to_sign.id}?access_token={to_sign.access_token}",
                      page)
        self.assertTrue(to_sign.access_token)

    def test_signed_mandate_pdf(self):
        self.authenticate("portal_dd_a", "portal_dd_a")
        response = self.url_open(f"/my/direct_debits/{self.mandate.id}/pdf")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertIn("Mandate_MDT_RCUR.pdf", response.headers["Content-Disposition"])
        self.assertIn(b"MDT-RCUR", response.content)

    def test_another_customers_mandate_is_not_found(self):
        # B (another company) tries A's mandate, A tries B's: the portal's not-found page
        for login, mandate in (("portal_dd_b", self.mandate), ("portal_dd_a", self.mandate_b),
                               ("portal_dd_a", self.mandate_first)):
            self.authenticate(login, login)
            for suffix in ("", "/pdf", "/revoke"):
                response = self.url_open(f"/my/direct_debits/{mandate.id}{suffix}")
                self.assertEqual(response.status_code, 404, (login, mandate.name, suffix))
            response = self.post(f"/my/direct_debits/{mandate.id}/account",
                                 iban=IBAN_OTHER_BANK, holder="Someone")
            self.assertEqual(response.status_code, 404)
            response = self.post(f"/my/direct_debits/{mandate.id}/revoke", confirm="1")
            self.assertEqual(response.status_code, 404)
            self.assertEqual(mandate.state, "active")
            self.assertFalse(mandate.original_iban)
        # A's mandate with the second company: on A's page, with that creditor
        a_in_b = self.Mandate.create({
            "name": "MDT-A-IN-B", "partner_id": self.customer.id,
            "company_id": self.company_b.id, "signature_date": "2025-01-15",
            "partner_bank_id": self.mandate.partner_bank_id.id})
        self.authenticate("portal_dd_a", "portal_dd_a")
        page = self.url_open("/my/direct_debits").text
        self.assertIn("MDT-A-IN-B", page)
        self.assertIn("Stichting Bedrijf B", page)
        self.assertNotIn("MDT-B-PORTAL", page)
        self.assertEqual(self.url_open(f"/my/direct_debits/{a_in_b.id}").status_code, 200)
        # B's page: B's mandate only
        self.authenticate("portal_dd_b", "portal_dd_b")
        page = self.url_open("/my/direct_debits").text
        self.assertIn("MDT-B-PORTAL", page)
        self.assertIn("Stichting Bedrijf B", page)
        self.assertNotIn("MDT-RCUR", page)
        self.assertNotIn(self.inv_collected.name, page)
        # a missing id: not found either
        response = self.url_open("/my/direct_debits/999999999")
        self.assertEqual(response.status_code, 404)

    def test_token_gives_one_mandate(self):
        self.mandate._portal_ensure_token()
        token = self.mandate.access_token
        self.authenticate(None, None)
        response = self.url_open(f"/my/direct_debits/{self.mandate.id}?access_token={token}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("MDT-RCUR", response.text)
        self.assertIn("NL** **** **** **4300", response.text)
        # the token of this mandate opens no other; no token, no page
        for mandate, query in ((self.mandate_b, f"?access_token={token}"),
                               (self.mandate_first, f"?access_token={token}"),
                               (self.mandate, ""), (self.mandate, "?access_token=wrong")):
            response = self.url_open(f"/my/direct_debits/{mandate.id}{query}")
            self.assertEqual(response.status_code, 404, (mandate.name, query))
        # the list is for logged-in customers
        response = self.url_open("/my/direct_debits", allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))

    def test_change_of_account_is_an_amendment_with_evidence(self):
        self.authenticate("portal_dd_a", "portal_dd_a")
        url = f"/my/direct_debits/{self.mandate.id}/account"
        banks_before = self.env["res.partner.bank"].search_count([])
        response = self.post(url, iban="NL00ABNA0123456789", holder="J. de Vries")
        self.assertEqual(response.status_code, 200)
        self.assertIn("is not a valid IBAN", response.text)
        self.assertEqual(self.mandate.partner_bank_id.sanitized_acc_number, IBAN_B)
        self.assertFalse(self.mandate.original_iban)
        self.assertEqual(self.env["res.partner.bank"].search_count([]), banks_before)

        response = self.post(url, iban="nl39 rabo 0300 0652 64", holder="J. de Vries")
        self.assertEqual(response.status_code, 200)
        self.assertIn("Your new account is recorded", response.text)
        self.assertRecordValues(self.mandate, [{
            "original_iban": IBAN_B, "is_amended": True, "state": "active"}])
        self.assertRecordValues(self.mandate.partner_bank_id, [{
            "sanitized_acc_number": IBAN_OTHER_BANK, "partner_id": self.customer.id,
            "acc_holder_name": "J. de Vries"}])
        note = self.mandate.message_ids.filtered("sepa_i18n")
        self.assertEqual(len(note), 1)
        body = str(note.body)
        for text in ("changed the account online", "NL91 ABNA 0417 1643 00",
                     "NL39 RABO 0300 0652 64", "J. de Vries", "127.0.0.1", "UTC"):
            self.assertIn(text, body)
        self.assertIn("Mozilla/5.0 (portal test)", body)  # the browser

        # the same account again is refused, nothing written
        response = self.post(url, iban=IBAN_OTHER_BANK, holder="J. de Vries")
        self.assertIn("already the account of this mandate", response.text)

    def test_amendment_rule_through_the_portal(self):
        """The change is the bookkeeper's: the next file reports a new account at another
        bank as SMNDA, at the same bank as the original account."""
        self.authenticate("portal_dd_a", "portal_dd_a")
        self.post(f"/my/direct_debits/{self.mandate.id}/account", iban=IBAN_OTHER_BANK,
                  holder="Jan de Vries")
        self.assertEqual(self.mandate.original_iban, IBAN_B)
        details = self.amendment_of_next_debit(self.customer)
        self.assertEqual(details.findtext("p:OrgnlDbtrAgt//p:Id", namespaces=NS), "SMNDA")

        # at the same bank: the original account
        piet, other = self.create_debtor("Piet Jansen", "NL91ABNA0417164300",
                                         sequence_type="recurring", name="MDT-PIET")
        new_test_user(self.env, login="portal_dd_piet", groups="base.group_portal",
                      partner_id=piet.id, company_id=self.company.id)
        self.authenticate("portal_dd_piet", "portal_dd_piet")
        self.post(f"/my/direct_debits/{other.id}/account", iban=IBAN_SAME_BANK,
                  holder="Piet Jansen")
        self.assertEqual(other.original_iban, "NL91ABNA0417164300")
        details = self.amendment_of_next_debit(piet)
        self.assertEqual(details.findtext("p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=NS),
                         "NL91ABNA0417164300")
        self.assertIsNone(details.find("p:OrgnlDbtrAgt", namespaces=NS))

    def amendment_of_next_debit(self, partner):
        if not self.env["account.move"].search_count([
                ("partner_id", "=", partner.id), ("sepa_state", "=", "to_collect")]):
            self.invoice(partner, 15.0)
        batch = self.create_batch(partner_ids=partner.ids)
        batch.action_generate()
        root = etree.fromstring(base64.b64decode(batch.file))
        self.assertEqual(root.findtext(".//p:AmdmntInd", namespaces=NS), "true")
        return root.find(".//p:AmdmntInfDtls", namespaces=NS)

    def test_revoke_with_confirm_step(self):
        self.authenticate("portal_dd_a", "portal_dd_a")
        url = f"/my/direct_debits/{self.mandate.id}/revoke"
        confirm = self.url_open(url)
        self.assertEqual(confirm.status_code, 200)
        self.assertIn("Yes, revoke the mandate", confirm.text)
        self.assertIn(self.inv_sent.name, confirm.text)  # still collected
        self.assertEqual(self.mandate.state, "active")  # nothing yet

        response = self.post(url, confirm="1")
        self.assertEqual(response.status_code, 200)
        self.assertIn("The mandate is revoked", response.text)
        self.assertIn(self.inv_sent.name, response.text)
        self.assertRecordValues(self.mandate, [{
            "state": "revoked",
            "revocation_date": fields.Date.context_today(self.mandate),
            "revocation_reason": "revoked by the customer online",
        }])
        # nothing more is collected; the debit already sent is named to the bookkeeper
        self.assertEqual(self.inv_open.sepa_state, "mandate_revoked")
        bodies = " ".join(str(body) for body in self.mandate.message_ids.mapped("body"))
        self.assertIn("revoked the mandate online", bodies)
        self.assertIn("Debits already sent to the bank are still collected", bodies)
        self.assertIn(self.inv_sent.name, bodies)
        # once revoked, no second revocation and no change of account
        response = self.post(url, confirm="1")
        self.assertIn("nothing to revoke", response.text)
        response = self.post(f"/my/direct_debits/{self.mandate.id}/account",
                             iban=IBAN_OTHER_BANK, holder="x")
        self.assertIn("Only an active mandate", response.text)
        self.assertFalse(self.mandate.original_iban)


@tagged("post_install", "-at_install")
class TestPortalDirectDebitsTour(PortalDirectDebitCommon, SepaTourCase):

    def test_portal_tour(self):
        self.start_tour("/my", "sepa_portal_direct_debits_tour", login="portal_dd_a")
        self.assertRecordValues(self.mandate, [{
            "state": "revoked", "revocation_reason": "revoked by the customer online",
            "original_iban": IBAN_B}])
        self.assertEqual(self.mandate.partner_bank_id.sanitized_acc_number, IBAN_OTHER_BANK)
