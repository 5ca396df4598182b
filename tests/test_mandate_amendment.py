import base64
from datetime import date

from lxml import etree

from odoo.tests import tagged

from .common import IBAN_B, IBAN_C, SepaBatchCommon, SepaCommon

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@tagged("post_install", "-at_install")
class TestMandateAmendment(SepaCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank_b = cls.env["res.partner.bank"].create(
            {"acc_number": IBAN_B, "partner_id": cls.debtor.id})
        cls.bank_c = cls.env["res.partner.bank"].create(
            {"acc_number": IBAN_C, "partner_id": cls.debtor.id})

    def test_iban_change_on_active_mandate_is_amendment(self):
        mandate = self.create_active_mandate()
        mandate.partner_bank_id = self.bank_b
        self.assertRecordValues(mandate, [{
            "original_iban": "NL20INGB0001234567",
            "is_amended": True,
            "debtor_iban": "NL91 ABNA 0417 1643 00",
        }])
        # A second change before any debit keeps the account the bank knows.
        mandate.partner_bank_id = self.bank_c
        self.assertEqual(mandate.original_iban, "NL20INGB0001234567")
        # Back to the original account: nothing to tell the bank.
        mandate.partner_bank_id = self.debtor_bank
        self.assertRecordValues(mandate, [{"original_iban": False, "is_amended": False}])

    def test_reference_change_is_amendment(self):
        mandate = self.create_active_mandate(name="OLD-REF-1")
        mandate.name = "NEW-REF-1"
        self.assertRecordValues(mandate, [{
            "original_reference": "OLD-REF-1", "is_amended": True}])

    def test_draft_mandate_changes_are_no_amendment(self):
        mandate = self.create_mandate()
        mandate.write({"partner_bank_id": self.bank_b.id, "name": "OTHER-REF"})
        self.assertRecordValues(mandate, [{
            "original_iban": False, "original_reference": False, "is_amended": False}])

    def test_amendment_cleared_after_successful_debit(self):
        mandate = self.create_active_mandate(name="OLD-REF-2")
        mandate.write({"partner_bank_id": self.bank_b.id, "name": "NEW-REF-2"})
        self.assertTrue(mandate.is_amended)
        mandate._register_successful_debit(date(2025, 5, 2))
        self.assertRecordValues(mandate, [{
            "original_iban": False,
            "original_reference": False,
            "is_amended": False,
            "sequence_type": "recurring",
            "last_debit_date": date(2025, 5, 2),
        }])
        # The next change after that debit is a new amendment from the new account.
        mandate.partner_bank_id = self.bank_c
        self.assertEqual(mandate.original_iban, IBAN_B)


@tagged("post_install", "-at_install")
class TestAmendmentInFile(SepaBatchCommon):
    """What a generated file reports for a debtor who changed accounts."""

    def amended_debit(self, partner, mandate, new_iban):
        mandate.partner_bank_id = self.env["res.partner.bank"].create(
            {"acc_number": new_iban, "partner_id": partner.id})
        self.invoice(partner, 25.0)
        batch = self.create_batch(partner_ids=partner.ids)
        batch.action_generate()
        root = etree.fromstring(base64.b64decode(batch.file))
        self.assertEqual(root.findtext(".//p:AmdmntInd", namespaces=NS), "true")
        return root.find(".//p:AmdmntInfDtls", namespaces=NS)

    def test_new_account_at_the_same_bank_reports_the_original_account(self):
        # NL91ABNA0417164300 → NL02ABNA0123456789: other check digits, same bank (ABNA).
        details = self.amended_debit(self.recurring_partner, self.mandate_recurring,
                                     "NL02ABNA0123456789")
        self.assertEqual(details.findtext("p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=NS),
                         IBAN_B)
        self.assertIsNone(details.find("p:OrgnlDbtrAgt", namespaces=NS))

    def test_new_account_at_another_bank_reports_smnda(self):
        partner, mandate = self.create_debtor(
            "Klaus Becker", "DE89370400440532013000", sequence_type="recurring",
            name="MDT-DE")
        # Commerzbank (37040044) → Postbank (50010060).
        details = self.amended_debit(partner, mandate, "DE51500100600123456789")
        self.assertEqual(details.findtext("p:OrgnlDbtrAgt//p:Id", namespaces=NS), "SMNDA")
        self.assertIsNone(details.find("p:OrgnlDbtrAcct", namespaces=NS))
