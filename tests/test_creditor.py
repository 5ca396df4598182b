"""Several creditor identifiers in one company (issue 21): the creditors, mandates and
batches per creditor, the amendment when a mandate changes creditor, returns, notices
and the printed mandate, the storno score per creditor, the upgrade, the access."""
import base64

from lxml import etree
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL, mute_logger

from .common import CREDITOR_ID, ReturnImportHelpers, SepaBatchCommon
from .test_return_import import camt054, entry, return_tx
from .test_storno_accounting import StornoCommon
from .test_storno_reasons import load_migration

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
CREDITOR_ID_2 = "NL93ZZZ111111110000"
CREDITOR_ID_3 = "NL67ZZZ222222220000"


class CreditorCommon(SepaBatchCommon):
    """The company's first creditor (its identifier) and a second one, "Sportclub",
    with the customer Jan de Vries's mandate (MDT-RCUR)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Creditor = cls.env["sepa.creditor"]
        cls.creditor_1 = cls.Creditor.search([("company_id", "=", cls.company.id)])
        cls.creditor_2 = cls.Creditor.create({
            "name": "Sportclub De Eendracht", "identifier": "nl93 zzz 1111 1111 0000",
            "company_id": cls.company.id, "sequence": 20})
        cls.mandate_recurring.creditor_id = cls.creditor_2  # never used: no amendment

    def file_root(self, batch):
        return etree.fromstring(base64.b64decode(batch.file))

    def batch_for(self, creditor, **values):
        batch = self.create_batch(creditor_id=creditor.id, **values)
        batch.action_generate()
        return batch


@tagged("post_install", "-at_install")
class TestCreditors(CreditorCommon):
    def test_company_identifier_is_its_first_creditor(self):
        self.assertRecordValues(self.creditor_1, [{
            "name": self.company.name, "identifier": CREDITOR_ID,
            "company_id": self.company.id}])
        self.assertEqual(self.creditor_2.identifier, CREDITOR_ID_2, "normalised")
        # the company's identifier edits its first creditor
        self.company.sepa_creditor_identifier = CREDITOR_ID_3
        self.assertEqual(self.creditor_1.identifier, CREDITOR_ID_3)
        self.creditor_1.identifier = CREDITOR_ID
        self.assertEqual(self.company.sepa_creditor_identifier, CREDITOR_ID)
        # the first by sequence is the company's
        self.creditor_2.sequence = 1
        self.assertEqual(self.company.sepa_creditor_identifier, CREDITOR_ID_2)
        self.assertEqual(self.Mandate.create({
            "partner_id": self.debtor.id, "partner_bank_id": self.debtor_bank.id,
        }).creditor_id, self.creditor_2, "new mandates: the first creditor")

    def test_identifier_is_validated_and_unique_per_company(self):
        with self.assertRaisesRegex(ValidationError, "NL00ZZZ123456780000 is not a valid"):
            self.Creditor.create({"name": "Wrong", "identifier": "NL00ZZZ123456780000"})
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.Creditor.create({"name": "Twice", "identifier": CREDITOR_ID_2})

    def test_new_company_gets_a_creditor_with_its_identifier(self):
        company = self.env["res.company"].create({
            "name": "Stichting Nieuw", "sepa_creditor_identifier": CREDITOR_ID_3})
        creditor = self.Creditor.search([("company_id", "=", company.id)])
        self.assertRecordValues(creditor, [{
            "name": "Stichting Nieuw", "identifier": CREDITOR_ID_3}])
        # a mandate made while a company has no identifier gets its first creditor
        later = self.env["res.company"].create({"name": "Stichting Later"})
        mandate = self.create_mandate(company_id=later.id)
        self.assertFalse(mandate.creditor_id)
        later.sepa_creditor_identifier = CREDITOR_ID_2
        self.assertEqual(mandate.creditor_id.identifier, CREDITOR_ID_2)
        self.assertEqual(mandate.creditor_id.company_id, later)
        # cleared: the creditor is archived, the company has no identifier
        company.sepa_creditor_identifier = False
        self.assertFalse(creditor.active)
        self.assertFalse(company.sepa_creditor_identifier)

    def test_used_creditor_is_not_deleted(self):
        with self.assertRaisesRegex(UserError, "archive them"):
            self.creditor_2.unlink()

    def test_proposal_per_creditor_takes_only_its_mandates(self):
        self.make_cycle_invoices()
        first = self.propose(creditor_id=self.creditor_1.id)
        self.assertEqual(first.line_ids.invoice_id, self.inv_first_1 | self.inv_first_2)
        second = self.propose(creditor_id=self.creditor_2.id)
        self.assertEqual(second.line_ids.invoice_id, self.inv_recurring)
        self.assertEqual(second.creditor_count, 2)

    def test_batch_and_file_are_the_creditors(self):
        self.make_cycle_invoices()
        batch_1 = self.batch_for(self.creditor_1)
        batch_2 = self.batch_for(self.creditor_2)
        self.assertEqual(batch_2.creditor_id, self.creditor_2)
        self.assertEqual(batch_2.creditor_identifier, CREDITOR_ID_2)
        self.assertEqual(self.env["sepa.batch"].search(
            [("creditor_id", "=", self.creditor_2.id)]), batch_2)
        for batch, creditor in ((batch_1, self.creditor_1), (batch_2, self.creditor_2)):
            root = self.file_root(batch)
            self.assertEqual(
                root.findtext(".//p:PmtInf/p:Cdtr/p:Nm", namespaces=NS),
                creditor.name.replace("_", "-"))  # the SEPA character set
            self.assertEqual({node.text for node in root.iterfind(
                ".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS)},
                {creditor.identifier})
            self.assertIsNone(root.find(".//p:AmdmntInfDtls", namespaces=NS))

    def test_batch_journal_must_be_one_of_the_creditors(self):
        other = self.env["account.journal"].create({
            "name": "Bank Sportclub", "code": "BSPC", "type": "bank",
            "company_id": self.company.id})
        self.creditor_2.journal_ids = other
        self.invoice(self.recurring_partner, 12.0)
        with self.assertRaisesRegex(UserError, "collects through Bank Sportclub only"):
            self.propose(creditor_id=self.creditor_2.id)
        with self.assertRaisesRegex(UserError, "collects through Bank Sportclub only"):
            self.env["sepa.batch"].create({
                "journal_id": self.bank_journal.id, "creditor_id": self.creditor_2.id})
        # the creditor's journal is the proposal's default
        wizard = self.env["sepa.batch.proposal"].new({"creditor_id": self.creditor_2.id})
        other.bank_account_id = self.bank_journal.bank_account_id.copy(
            {"acc_number": "NL36INGB0007654321"})
        wizard._onchange_creditor_id()
        self.assertEqual(wizard.journal_id, other)

    def test_mandate_moved_after_the_batch_is_refused(self):
        self.invoice(self.recurring_partner, 12.0)
        batch = self.create_batch(creditor_id=self.creditor_2.id)
        self.mandate_recurring.creditor_id = self.creditor_1
        with self.assertRaisesRegex(UserError, "belong to another creditor now: MDT-RCUR"):
            batch.action_generate()

    def test_return_naming_the_second_creditor_is_ours(self):
        matcher = self.env["sepa.return.matcher"]
        rules = matcher._rules(self.company)
        self.assertEqual(set(rules[self.company.id][0]), {CREDITOR_ID, CREDITOR_ID_2})


@tagged("post_install", "-at_install")
class TestCreditorAmendment(CreditorCommon):
    """A used mandate moved to another creditor: the next debit reports the original
    creditor scheme id (AmdmntInd true), once."""

    def settle(self, batch):
        batch.action_send()
        batch._settle()
        self.assertEqual(batch.state, "done")

    def test_creditor_change_is_reported_once(self):
        mandate = self.mandate_recurring
        self.invoice(self.recurring_partner, 30.0)
        self.settle(self.batch_for(self.creditor_2))
        self.assertTrue(mandate.last_debit_date)
        self.assertFalse(mandate.is_amended)

        mandate.creditor_id = self.creditor_1
        self.assertRecordValues(mandate, [{
            "original_creditor_identifier": CREDITOR_ID_2,
            "original_creditor_name": "Sportclub De Eendracht", "is_amended": True}])
        self.invoice(self.recurring_partner, 31.0)
        batch = self.batch_for(self.creditor_1)  # XSD-validated by the writer
        root = self.file_root(batch)
        self.assertEqual(root.findtext(".//p:AmdmntInd", namespaces=NS), "true")
        details = root.find(".//p:AmdmntInfDtls", namespaces=NS)
        self.assertEqual(details.findtext("p:OrgnlCdtrSchmeId/p:Nm", namespaces=NS),
                         "Sportclub De Eendracht")
        self.assertEqual(details.findtext(
            "p:OrgnlCdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS), CREDITOR_ID_2)
        self.assertEqual(details.findtext(
            "p:OrgnlCdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:SchmeNm/p:Prtry", namespaces=NS),
            "SEPA")
        self.assertIsNone(details.find("p:OrgnlMndtId", namespaces=NS))
        self.assertEqual(batch.line_ids.amended_creditor_identifier, CREDITOR_ID)

        # settled: the bank knows the new creditor, the next debit reports nothing
        self.settle(batch)
        self.assertFalse(mandate.is_amended)
        self.invoice(self.recurring_partner, 32.0)
        root = self.file_root(self.batch_for(self.creditor_1))
        self.assertNotEqual(root.findtext(".//p:AmdmntInd", namespaces=NS), "true")
        self.assertIsNone(root.find(".//p:AmdmntInfDtls", namespaces=NS))

    def test_changing_back_cancels_and_unused_mandates_report_nothing(self):
        mandate = self.mandate_recurring
        mandate.last_debit_date = "2025-03-01"
        mandate.creditor_id = self.creditor_1
        self.assertEqual(mandate.original_creditor_identifier, CREDITOR_ID_2)
        mandate.creditor_id = self.creditor_2
        self.assertFalse(mandate.is_amended)
        # never used (no debit yet): the bank knows no creditor
        self.mandate_first.creditor_id = self.creditor_2
        self.assertFalse(self.mandate_first.is_amended)

    def test_new_identifier_of_the_creditor_is_an_amendment(self):
        mandate = self.mandate_recurring
        mandate.last_debit_date = "2025-03-01"
        self.creditor_2.identifier = CREDITOR_ID_3
        self.assertRecordValues(mandate, [{
            "original_creditor_identifier": CREDITOR_ID_2, "is_amended": True}])
        self.assertFalse(self.mandate_first.is_amended, "not the other creditor's")


@tagged("post_install", "-at_install")
class TestCreditorReturns(ReturnImportHelpers, CreditorCommon):
    def test_return_naming_the_second_creditor_is_matched(self):
        self.invoice(self.recurring_partner, 30.0)
        batch = self.batch_for(self.creditor_2)
        batch.action_send()
        batch._settle()
        line = batch.line_ids

        def named(tx, creditor_id):
            return tx.replace("<RtrInf>", (
                "<RltdPties><Cdtr><Nm>Creditor</Nm><Id><PrvtId><Othr>"
                f"<Id>{creditor_id}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr>"
                "</PrvtId></Id></Cdtr></RltdPties><RtrInf>"))

        data = camt054([
            entry([named(return_tx(line.end_to_end_id, 30.0, ref="C2"), CREDITOR_ID_2)],
                  30.0, "C2"),
            entry([named(return_tx(line.end_to_end_id, 30.0, ref="C3"), CREDITOR_ID_3)],
                  30.0, "C3"),
        ])
        wizard = self.preview(data)
        self.assertEqual(wizard.line_ids.mapped("status"), ["match", "unmatched"])
        self.assertEqual(wizard.line_ids[0].batch_line_id, line)
        self.assertIn(f"{CREDITOR_ID_3} is not ours", wizard.line_ids[1].note)


@tagged("post_install", "-at_install")
class TestCreditorNotices(CreditorCommon):
    def test_printed_mandate_and_signing_text_name_its_creditor(self):
        html = self.env["ir.actions.report"]._render_qweb_html(
            "sepa_direct_debit.action_report_sepa_mandate", self.mandate_recurring.ids)[0]
        html = html.decode()
        self.assertIn(CREDITOR_ID_2, html)
        self.assertIn("Sportclub De Eendracht", html)
        self.assertNotIn(CREDITOR_ID, html)
        text = self.mandate_recurring._sepa_signed_text({
            "holder": "Jan de Vries", "iban": "NL91ABNA0417164300", "place": "Utrecht",
            "name": "Jan de Vries", "date": "2025-01-15", "signed_at": "2025-01-15 10:00",
            "email": "jan@devries.example", "signature_hash": "0" * 64}, "en")
        self.assertIn("Creditor: Sportclub De Eendracht", text)
        self.assertIn(f"Creditor identifier: {CREDITOR_ID_2}", text)
        self.assertIn("authorise (A) Sportclub De Eendracht", text)
        # the company's own creditor: as before
        html = self.env["ir.actions.report"]._render_qweb_html(
            "sepa_direct_debit.action_report_sepa_mandate", self.mandate_first.ids)[0]
        self.assertIn(CREDITOR_ID, html.decode())

    def test_invoice_notice_names_the_mandates_creditor(self):
        self.company.sepa_notice_method = "invoice"
        first = self.invoice(self.debtor, 10.0)
        second = self.invoice(self.recurring_partner, 20.0)
        self.assertIn(f"(mandate MDT-FIRST, creditor identifier {CREDITOR_ID})",
                      first.sepa_notice_text)
        self.assertIn(f"by Sportclub De Eendracht (mandate MDT-RCUR, creditor identifier "
                      f"{CREDITOR_ID_2})", second.sepa_notice_text)

    def test_prenotification_email_names_the_mandates_creditor(self):
        self.company.sepa_notice_method = "email"
        self.recurring_partner.email = "jan@devries.example"
        invoice = self.invoice(self.recurring_partner, 20.0)
        self.create_batch(creditor_id=self.creditor_2.id)
        mail = self.env["mail.mail"].sudo().search([
            ("model", "=", "account.move"), ("res_id", "=", invoice.id)])
        self.assertEqual(len(mail), 1)
        self.assertIn(f"{CREDITOR_ID_2} (Sportclub De Eendracht)", mail.body_html)


@tagged("post_install", "-at_install")
class TestCreditorStornoScore(StornoCommon):
    """Score rules per creditor: empty, the company's; set, the creditor's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"sepa_storno_auto_revoke": True, "sepa_storno_threshold": 3})
        cls.creditor_2 = cls.env["sepa.creditor"].create({
            "name": "Sportclub", "identifier": CREDITOR_ID_2, "company_id": cls.company.id,
            "storno_threshold": 2})
        cls.mandate_recurring.creditor_id = cls.creditor_2

    def fail_once(self, mandate, partner, code="AM04"):
        self.invoice(partner, 20.0)
        batch = self.create_batch(creditor_id=mandate.creditor_id.id)
        batch.action_generate()
        batch.action_send()
        return self.register(batch.line_ids[:1], code=code)

    def test_threshold_per_creditor(self):
        self.fail_once(self.mandate_recurring, self.recurring_partner)
        self.fail_once(self.mandate_first, self.debtor)
        self.assertEqual(self.mandate_recurring.state, "active")
        self.fail_once(self.mandate_recurring, self.recurring_partner)
        self.assertEqual(self.mandate_recurring.state, "revoked", "the creditor's 2")
        self.assertIn("threshold 2", self.mandate_recurring.revocation_reason)
        self.fail_once(self.mandate_first, self.debtor)
        self.assertEqual(self.mandate_first.state, "active", "the company's 3")

    def test_creditor_never_revokes(self):
        self.creditor_2.storno_auto_revoke = "off"
        for _i in range(3):
            self.fail_once(self.mandate_recurring, self.recurring_partner)
        self.assertEqual(self.mandate_recurring.storno_score, 3)
        self.assertEqual(self.mandate_recurring.state, "active")

    def test_revoke_at_once_counts_the_creditors_threshold(self):
        self.creditor_2.storno_threshold = 5
        storno = self.fail_once(self.mandate_recurring, self.recurring_partner, code="MD01")
        self.assertEqual(storno.points, 5)
        self.assertEqual(self.mandate_recurring.state, "revoked")


@tagged("post_install", "-at_install")
class TestCreditorUpgrade(SepaBatchCommon):
    """Migration 18.0.1.6.0: each company with an identifier gets its creditor, and its
    mandates and batches point to it."""

    def migrate(self):
        self.env.flush_all()
        load_migration("18.0.1.6.0", "post-migrate").migrate(self.env.cr, "18.0.1.5.0")
        self.env.invalidate_all()

    def test_company_of_before_gets_its_creditor(self):
        self.invoice(self.recurring_partner, 19.0)
        batch = self.create_batch()
        # as a database of 18.0.1.5.0: no creditor at all
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE sepa_mandate SET creditor_id = NULL"))
        self.env.cr.execute(SQL("UPDATE sepa_batch SET creditor_id = NULL"))
        self.env.cr.execute(SQL("DELETE FROM sepa_creditor"))
        self.env.invalidate_all()
        self.migrate()
        creditor = self.env["sepa.creditor"].search([("company_id", "=", self.company.id)])
        self.assertRecordValues(creditor, [{
            "name": self.company.name, "identifier": CREDITOR_ID}])
        mandates = self.Mandate.search([("company_id", "=", self.company.id)])
        self.assertTrue(mandates)
        self.assertEqual(mandates.creditor_id, creditor)
        self.assertEqual(batch.creditor_id, creditor)
        # run again: nothing made twice
        self.migrate()
        self.assertEqual(self.env["sepa.creditor"].search(
            [("company_id", "=", self.company.id)]), creditor)


@tagged("post_install", "-at_install")
class TestCreditorAccess(CreditorCommon):
    def test_other_companys_creditor_is_invisible_and_refused(self):
        company_b = self.setup_other_company(name="Stichting B")["company"]
        company_b.sepa_creditor_identifier = CREDITOR_ID_3
        creditor_b = self.Creditor.search([("company_id", "=", company_b.id)])
        self.assertTrue(creditor_b)
        manager = new_test_user(self.env, login="sepa_creditor_manager",
                                groups="account.group_account_manager",
                                company_id=self.company.id)
        billing = new_test_user(self.env, login="sepa_creditor_billing",
                                groups="account.group_account_invoice",
                                company_id=self.company.id)
        Creditor = self.Creditor.with_user(manager)
        self.assertEqual(Creditor.search([]), self.creditor_1 | self.creditor_2)
        with self.assertRaises(AccessError):
            Creditor.browse(creditor_b.id).read(["identifier"])
        with self.assertRaises(AccessError):
            Creditor.create({"name": "B", "identifier": "NL41ZZZ333333330000",
                             "company_id": company_b.id})
        # a mandate of company A cannot get company B's creditor
        with self.assertRaises(UserError):
            self.mandate_first.with_user(manager).creditor_id = creditor_b
        # billing users read, managers configure
        self.assertEqual(self.Creditor.with_user(billing).search([]),
                         self.creditor_1 | self.creditor_2)
        with self.assertRaises(AccessError):
            self.creditor_2.with_user(billing).name = "Renamed"
        self.creditor_2.with_user(manager).name = "Renamed"
        self.assertEqual(self.creditor_2.name, "Renamed")
