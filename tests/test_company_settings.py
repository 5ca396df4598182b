from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import SepaCommon


@tagged("post_install", "-at_install")
class TestCompanySettings(SepaCommon):
    def test_creditor_identifier_validated_and_normalised(self):
        with self.assertRaisesRegex(ValidationError, "NL00ZZZ123456780000 is not a valid"):
            self.company.sepa_creditor_identifier = "NL00ZZZ123456780000"
        self.company.sepa_creditor_identifier = "nl69 zzz 1234 5678 0000"
        self.assertEqual(self.company.sepa_creditor_identifier, "NL69ZZZ123456780000")

    def test_settings_write_to_company(self):
        settings = self.env["res.config.settings"].create({
            "sepa_creditor_identifier": "DE98ZZZ09999999999",
            "sepa_oneoff_reuse_after_storno": True,
        })
        settings.execute()
        self.assertRecordValues(self.company, [{
            "sepa_creditor_identifier": "DE98ZZZ09999999999",
            "sepa_oneoff_reuse_after_storno": True,
        }])

    def test_maximum_bank_charge_per_storno(self):
        self.assertEqual(self.company.sepa_storno_max_charge, 10.0)
        self.env["res.config.settings"].create({"sepa_storno_max_charge": 4.5}).execute()
        self.assertEqual(self.company.sepa_storno_max_charge, 4.5)
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self.company.sepa_storno_max_charge = -1.0

    def test_missing_creditor_identifier_is_a_clear_error(self):
        mandate = self.create_active_mandate()
        self.company.sepa_creditor_identifier = False
        with self.assertRaisesRegex(UserError, "has no SEPA creditor identifier"):
            mandate.action_print_mandate()

    def test_settings_page_shows_every_company_option(self):
        options = {fname for fname in self.company._fields if fname.startswith("sepa_")}
        self.assertEqual(len(options), 16)
        arch = self.env["res.config.settings"].get_views([(False, "form")])[
            "views"]["form"]["arch"]
        # The settings fields have the names of the company's.
        self.assertEqual({fname for fname in options if f'name="{fname}"' in arch}, options)

    def test_journal_form_shows_pain_version(self):
        arch = self.env["account.journal"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="sepa_pain_version"', arch)
