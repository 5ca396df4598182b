from datetime import date

from odoo.tests import tagged

from .common import IBAN_B, IBAN_C, SepaCommon


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
