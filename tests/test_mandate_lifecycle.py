from datetime import date, timedelta

from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import IBAN_B, SepaCommon


@tagged("post_install", "-at_install")
class TestMandateLifecycle(SepaCommon):
    def test_reference_from_sequence(self):
        mandate = self.create_mandate()
        self.assertRegex(mandate.name, r"^MDT-\d{6}$")
        self.assertRecordValues(mandate, [{
            "state": "draft",
            "mandate_type": "recurring",
            "scheme": "CORE",
            "sequence_type": "first",
            "company_id": self.company.id,
            "debtor_iban": "NL20 INGB 0001 2345 67",
            "debtor_bic": "INGBNL2A",
        }])

    def test_partner_is_commercial_entity(self):
        contact = self.env["res.partner"].create({"name": "Treasurer", "parent_id": self.debtor.id})
        mandate = self.create_mandate(partner_id=contact.id)
        self.assertEqual(mandate.partner_id, self.debtor)

    def test_reference_rules(self):
        with self.assertRaisesRegex(ValidationError, "not valid"):
            self.create_mandate(name="X" * 36)
        with self.assertRaisesRegex(ValidationError, "not valid"):
            self.create_mandate(name="MANDAAT#1")
        self.assertEqual(self.create_mandate(name="ABC-123/2025").name, "ABC-123/2025")

    def test_duplicate_reference_per_company(self):
        self.create_mandate(name="DUP-1")
        other_company = self.setup_other_company()["company"]
        other = self.create_mandate(name="DUP-1", company_id=other_company.id,
                                    partner_bank_id=False)
        self.assertEqual(other.company_id, other_company)
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            with self.env.cr.savepoint():
                self.create_mandate(name="DUP-1")

    def test_invalid_iban(self):
        bank = self.env["res.partner.bank"].create({
            "acc_number": "NL00INGB0001234567", "partner_id": self.debtor.id})
        with self.assertRaisesRegex(ValidationError, "NL00INGB0001234567.*not a valid IBAN"):
            self.create_mandate(partner_bank_id=bank.id)

    def test_bank_account_of_other_partner(self):
        stranger = self.env["res.partner"].create({"name": "Stranger"})
        bank = self.env["res.partner.bank"].create(
            {"acc_number": IBAN_B, "partner_id": stranger.id})
        with self.assertRaisesRegex(ValidationError, "does not belong to its debtor") as caught:
            self.create_mandate(partner_bank_id=bank.id)
        # the user may not read the account: neither it nor its owner is named
        self.assertNotIn("Stranger", str(caught.exception))
        self.assertNotIn("ABNA", str(caught.exception))

    def test_bic_from_bank_overrides_registry(self):
        bank = self.env["res.bank"].create({"name": "Test Bank", "bic": "TESTNL2AXXX"})
        self.debtor_bank.bank_id = bank
        self.assertEqual(self.create_mandate().debtor_bic, "TESTNL2AXXX")

    def test_future_signature_date(self):
        tomorrow = date.today() + timedelta(days=1)
        with self.assertRaisesRegex(ValidationError, "in the future"):
            self.create_mandate(signature_date=tomorrow)

    def test_activate_requires_signature_and_account(self):
        mandate = self.create_mandate(signature_date=False, partner_bank_id=False)
        with self.assertRaisesRegex(UserError, "signature date, debtor bank account"):
            mandate.action_activate()
        self.assertEqual(mandate.state, "draft")
        mandate.write({"signature_date": "2025-02-01", "partner_bank_id": self.debtor_bank.id})
        mandate.action_activate()
        self.assertRecordValues(mandate, [{"state": "active", "sequence_type": "first"}])
        with self.assertRaisesRegex(UserError, "Cannot activate"):
            mandate.action_activate()

    def test_revoke_with_date_and_reason(self):
        mandate = self.create_active_mandate()
        wizard = self.env["sepa.mandate.revoke"].with_context(
            active_model="sepa.mandate", active_ids=mandate.ids,
        ).create({"revocation_date": "2025-06-30", "revocation_reason": "Member left"})
        self.assertEqual(wizard.mandate_ids, mandate)
        wizard.action_revoke()
        self.assertRecordValues(mandate, [{
            "state": "revoked",
            "revocation_date": date(2025, 6, 30),
            "revocation_reason": "Member left",
        }])
        with self.assertRaisesRegex(UserError, "Cannot revoke"):
            mandate._revoke(date(2025, 7, 1), "again")

    def test_reactivate_needs_new_signature(self):
        mandate = self.create_active_mandate()
        mandate._register_successful_debit(date(2025, 3, 1))
        mandate._revoke(date(2025, 6, 30), "Member left")
        wizard = self.env["sepa.mandate.reactivate"].with_context(
            active_model="sepa.mandate", active_ids=mandate.ids,
        ).create({"signature_date": "2025-01-15"})
        with self.assertRaisesRegex(UserError, "new signature date must be after"):
            wizard.action_reactivate()
        self.assertEqual(mandate.state, "revoked")
        wizard.signature_date = "2025-09-01"
        wizard.action_reactivate()
        self.assertRecordValues(mandate, [{
            "state": "active",
            "signature_date": date(2025, 9, 1),
            "sequence_type": "first",
            "revocation_date": False,
            "revocation_reason": False,
        }])

    def test_reactivate_refused_for_active(self):
        mandate = self.create_active_mandate()
        with self.assertRaisesRegex(UserError, "Cannot reactivate"):
            mandate.action_reactivate()

    def test_close_and_delete(self):
        draft = self.create_mandate()
        active = self.create_active_mandate()
        active.action_close()
        self.assertEqual(active.state, "closed")
        with self.assertRaisesRegex(UserError, "Only mandates that are still to be signed"):
            active.unlink()
        draft.unlink()
        self.assertFalse(draft.exists())

    def test_successful_debit_closes_one_off_and_clears_override(self):
        # The next sequence type follows from the settled batch lines (test_sequence_type);
        # a debit registered on its own only ends an override.
        recurring = self.create_active_mandate()
        recurring.sequence_type_override = "first"
        one_off = self.create_active_mandate(mandate_type="one_off")
        (recurring | one_off)._register_successful_debit(date(2025, 4, 2))
        self.assertRecordValues(recurring | one_off, [
            {"state": "active", "sequence_type_override": False,
             "last_debit_date": date(2025, 4, 2)},
            {"state": "closed", "sequence_type_override": False,
             "last_debit_date": date(2025, 4, 2)},
        ])

    def test_last_debit_date_never_goes_back(self):
        mandate = self.create_active_mandate()
        mandate._register_successful_debit(date(2025, 5, 2))
        mandate._register_successful_debit(date(2025, 4, 1))  # settled out of order
        self.assertEqual(mandate.last_debit_date, date(2025, 5, 2))
        mandate._register_successful_debit(date(2025, 6, 3))
        self.assertEqual(mandate.last_debit_date, date(2025, 6, 3))

    def test_state_changes_are_tracked(self):
        mandate = self.create_mandate().with_context(tracking_disable=False, mail_notrack=False)
        self.env.cr.precommit.run()  # as if the creation was committed
        mandate.action_activate()
        self.env.cr.precommit.run()
        tracked = mandate.message_ids.sudo().tracking_value_ids.filtered(
            lambda value: value.field_id.name == "state")
        self.assertEqual(tracked.mapped("new_value_char"), ["Active"])

    def test_invoice_only_on_one_off(self):
        invoice = self.init_invoice("out_invoice", partner=self.debtor, amounts=[100])
        with self.assertRaisesRegex(ValidationError, "only a one-off mandate"):
            self.create_mandate(invoice_id=invoice.id)
        self.assertEqual(
            self.create_mandate(mandate_type="one_off", invoice_id=invoice.id).invoice_id, invoice)
