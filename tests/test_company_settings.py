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

    def test_missing_creditor_identifier_is_a_clear_error(self):
        mandate = self.create_active_mandate()
        self.company.sepa_creditor_identifier = False
        with self.assertRaisesRegex(UserError, "has no SEPA creditor identifier"):
            mandate.action_print_mandate()
