from datetime import date

from freezegun import freeze_time

from odoo.tests import tagged

from .common import SepaCommon


@tagged("post_install", "-at_install")
class TestMandateExpiry(SepaCommon):
    @freeze_time("2028-06-15")
    def test_expiry_after_36_months(self):
        Mandate = self.Mandate
        used_long_ago = self.create_active_mandate(signature_date="2024-01-10")
        used_long_ago.last_debit_date = date(2025, 6, 14)
        used_recently = self.create_active_mandate(signature_date="2024-01-10")
        used_recently.last_debit_date = date(2025, 6, 15)
        never_used_old = self.create_active_mandate(signature_date="2025-06-14")
        never_used_new = self.create_active_mandate(signature_date="2025-06-15")
        one_off_old = self.create_active_mandate(signature_date="2020-01-01",
                                                 mandate_type="one_off")
        revoked_old = self.create_active_mandate(signature_date="2020-01-01")
        revoked_old._revoke(date(2021, 1, 1), "Left")

        expired = Mandate._cron_expire_mandates()

        self.assertEqual(expired, used_long_ago | never_used_old)
        self.assertRecordValues(
            used_long_ago | used_recently | never_used_old | never_used_new | one_off_old
            | revoked_old,
            [{"state": "expired"}, {"state": "active"}, {"state": "expired"},
             {"state": "active"}, {"state": "active"}, {"state": "revoked"}],
        )
        self.assertIn("no debit since 06/14/2025", used_long_ago.message_ids[0].body)
        self.assertIn("more than 36 months", never_used_old.message_ids[0].body)

    @freeze_time("2028-06-15")
    def test_expiry_cron_is_bounded(self):
        mandates = self.Mandate.create([{
            "partner_id": self.debtor.id,
            "partner_bank_id": self.debtor_bank.id,
            "signature_date": "2024-01-01",
            "state": "active",
        } for _ in range(3)])
        first_run = self.Mandate._cron_expire_mandates(limit=2)
        self.assertEqual(len(first_run), 2)
        self.assertEqual(mandates.mapped("state").count("expired"), 2)
        self.Mandate._cron_expire_mandates(limit=2)
        self.assertEqual(set(mandates.mapped("state")), {"expired"})

    @freeze_time("2028-06-15")
    def test_expired_mandate_can_be_reactivated(self):
        mandate = self.create_active_mandate(signature_date="2024-01-01")
        self.Mandate._cron_expire_mandates()
        self.assertEqual(mandate.state, "expired")
        mandate._reactivate(date(2028, 6, 1))
        self.assertRecordValues(mandate, [{"state": "active", "sequence_type": "first"}])
        self.assertFalse(self.Mandate._cron_expire_mandates())
