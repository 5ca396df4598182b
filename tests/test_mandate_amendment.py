import base64
from datetime import date

from lxml import etree

from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from .common import IBAN_A, IBAN_B, IBAN_C, SepaBatchCommon, SepaCommon

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

    def test_successful_debit_keeps_amendment_for_the_settlement(self):
        # The settlement clears what its debit reported (test_batch_cycle); a debit
        # registered on its own clears nothing.
        mandate = self.create_active_mandate(name="OLD-REF-2")
        mandate.write({"partner_bank_id": self.bank_b.id, "name": "NEW-REF-2"})
        mandate._register_successful_debit(date(2025, 5, 2))
        self.assertRecordValues(mandate, [{
            "original_iban": IBAN_A,
            "original_reference": "OLD-REF-2",
            "is_amended": True,
            "last_debit_date": date(2025, 5, 2),
        }])
        # Once cleared, the next change is a new amendment from the new account.
        mandate.write({"original_iban": False, "original_reference": False})
        mandate.partner_bank_id = self.bank_c
        self.assertEqual(mandate.original_iban, IBAN_B)

    def test_iban_edited_on_bank_account_is_amendment(self):
        mandate = self.create_active_mandate()
        billing_user = new_test_user(self.env, login="sepa_billing_amend",
                                     groups="account.group_account_invoice,"
                                     "base.group_partner_manager",
                                     company_id=self.company.id)
        self.debtor_bank.with_user(billing_user).acc_number = IBAN_C
        self.assertRecordValues(mandate, [{
            "original_iban": IBAN_A, "is_amended": True, "debtor_iban": "NL44 RABO 0123 4567 89"}])
        # Edited back: nothing left to tell the bank.
        self.debtor_bank.acc_number = "nl20 ingb 0001 2345 67"
        self.assertRecordValues(mandate, [{"original_iban": False, "is_amended": False}])
        # A mandate to sign has nothing to amend.
        draft = self.create_mandate(partner_bank_id=self.bank_b.id)
        self.bank_b.acc_number = "NL39RABO0300065264"
        self.assertFalse(draft.original_iban)

    def test_bank_account_of_mandate_stays_a_valid_iban(self):
        mandate = self.create_active_mandate(name="MDT-IBAN-1")
        with self.assertRaisesRegex(ValidationError,
                                    "debtor account 12345 of mandate MDT-IBAN-1 is not a valid"),\
                self.env.cr.savepoint():
            self.debtor_bank.acc_number = "12345"
        someone = self.env["res.partner"].create({"name": "Someone"})
        with self.assertRaisesRegex(ValidationError, "bank account of mandate MDT-IBAN-1 does "
                                    "not belong to its debtor Vereniging De Eendracht"),\
                self.env.cr.savepoint():
            self.debtor_bank.partner_id = someone
        self.assertEqual(mandate.debtor_iban, "NL20 INGB 0001 2345 67")
        # An account no mandate may debit any more is free to change.
        mandate._revoke(date(2025, 6, 1), "Left")
        self.debtor_bank.acc_number = "12345"
        self.assertFalse(mandate.original_iban)

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
