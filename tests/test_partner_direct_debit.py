from odoo.tests import new_test_user, tagged

from .common import SepaCommon


@tagged("post_install", "-at_install")
class TestPartnerDirectDebit(SepaCommon):
    def test_flag_creates_mandate_to_sign_once(self):
        self.debtor.sepa_collect = True
        mandate = self.debtor.sepa_mandate_ids
        self.assertRecordValues(mandate, [{
            "state": "draft",
            "mandate_type": "recurring",
            "partner_bank_id": self.debtor_bank.id,
            "company_id": self.company.id,
        }])
        self.assertEqual(self.debtor.sepa_mandate_count, 1)
        self.debtor.sepa_collect = False
        self.debtor.sepa_collect = True
        self.assertEqual(self.debtor.sepa_mandate_ids, mandate)

    def test_flag_on_contact_goes_to_commercial_partner(self):
        contact = self.env["res.partner"].create({"name": "Treasurer", "parent_id": self.debtor.id})
        self.debtor.sepa_collect = True
        self.assertTrue(contact.sepa_collect)
        self.assertEqual(len(self.Mandate.search([("partner_id", "=", self.debtor.id)])), 1)
        self.assertFalse(self.Mandate.search([("partner_id", "=", contact.id)]))
        self.assertEqual(contact.sepa_mandate_count, 1)

    def test_flag_with_active_mandate_creates_nothing(self):
        mandate = self.create_active_mandate()
        self.debtor.sepa_collect = True
        self.assertEqual(self.debtor.sepa_mandate_ids, mandate)
        self.assertFalse(self.debtor.sepa_mandate_warning)

    def test_warning_without_valid_mandate(self):
        self.debtor.sepa_collect = True
        self.assertIn("No valid mandate for Vereniging De Eendracht",
                      self.debtor.sepa_mandate_warning)
        mandate = self.debtor.sepa_mandate_ids
        mandate.signature_date = "2025-02-01"
        mandate.action_activate()
        self.debtor.invalidate_recordset(["sepa_mandate_warning"])
        self.assertFalse(self.debtor.sepa_mandate_warning)
        mandate._revoke("2025-06-01", "Left")
        self.debtor.invalidate_recordset(["sepa_mandate_warning"])
        self.assertIn("No valid mandate", self.debtor.sepa_mandate_warning)

    def test_warning_when_flag_cleared_with_active_mandate(self):
        self.create_active_mandate()
        self.debtor.sepa_collect = True
        self.debtor.sepa_collect = False
        self.assertIn("not collected by direct debit but still has 1 active mandate",
                      self.debtor.sepa_mandate_warning)

    def test_mandate_per_invoice(self):
        self.debtor.sepa_collect = True
        self.assertEqual(self.debtor.sepa_mandate_ids.state, "draft")
        open_invoice = self.init_invoice("out_invoice", partner=self.debtor, amounts=[100],
                                         post=True)
        recurring = self.debtor.sepa_mandate_ids
        self.debtor.sepa_mandate_per_invoice = True
        # The unsigned recurring mandate is closed; posting creates one-off mandates.
        self.assertEqual(recurring.state, "closed")
        invoice = self.init_invoice("out_invoice", partner=self.debtor, amounts=[50], post=True)
        self.assertRecordValues(self.debtor.sepa_mandate_ids - recurring, [{
            "mandate_type": "one_off",
            "state": "draft",
            "invoice_id": invoice.id,
            "partner_bank_id": self.debtor_bank.id,
        }])
        # Optionally: one-off mandates for the invoices that were already open.
        self.debtor.action_sepa_create_invoice_mandates()
        self.assertEqual(
            set((self.debtor.sepa_mandate_ids - recurring).mapped("invoice_id").ids),
            {invoice.id, open_invoice.id},
        )
        # Running it again creates nothing new; reposting creates nothing new.
        self.debtor.action_sepa_create_invoice_mandates()
        invoice.button_draft()
        invoice.action_post()
        self.assertEqual(len(self.debtor.sepa_mandate_ids - recurring), 2)

    def test_billing_user_switches_to_mandate_per_invoice(self):
        billing_user = new_test_user(self.env, login="sepa_billing_switch",
                                     groups="account.group_account_invoice,"
                                     "base.group_partner_manager",
                                     company_id=self.company.id)
        debtor = self.debtor.with_user(billing_user)
        debtor.sepa_collect = True
        to_sign = debtor.sepa_mandate_ids
        self.assertEqual(to_sign.state, "draft")
        debtor.sepa_mandate_per_invoice = True  # no AccessError
        self.assertEqual(to_sign.state, "closed")
        self.assertIn("switched to one mandate per invoice", to_sign.message_ids[0].body)
        invoice = self.init_invoice("out_invoice", partner=self.debtor, amounts=[50], post=True)
        self.assertEqual(invoice.sepa_mandate_id.mandate_type, "one_off")
        # Back to one recurring mandate: a new one to sign.
        debtor.sepa_mandate_per_invoice = False
        self.assertEqual(len(debtor.sepa_mandate_ids.filtered(
            lambda m: m.mandate_type == "recurring" and m.state == "draft")), 1)

    def test_switch_keeps_signed_recurring_mandate(self):
        mandate = self.create_active_mandate()
        self.debtor.write({"sepa_collect": True, "sepa_mandate_per_invoice": True})
        self.assertEqual(self.debtor.sepa_mandate_ids, mandate)
        self.assertEqual(mandate.state, "active")

    def test_invoice_of_other_partner_gets_no_mandate(self):
        invoice = self.init_invoice("out_invoice", partner=self.partner_a, amounts=[10], post=True)
        self.assertFalse(self.Mandate.search([("invoice_id", "=", invoice.id)]))

    def test_smart_button_action(self):
        mandate = self.create_mandate()
        action = self.debtor.action_view_sepa_mandates()
        self.assertEqual(self.Mandate.search(action["domain"]), mandate)
