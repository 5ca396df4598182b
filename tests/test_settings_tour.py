"""The Settings page in Chromium (static/tests/tours/sepa_settings_tour.js): an
administrator switches the storno fee invoices on, with a product (issue 18: the option
could not be switched on from the page)."""

from odoo.tests import tagged

from .common import SepaTourCase


@tagged("post_install", "-at_install")
class TestSettingsTour(SepaTourCase):
    def test_fees_switched_on_in_the_settings(self):
        company = self.env.ref("base.main_company")
        product = self.env["product.product"].create({
            "name": "Tour Storno Fee", "type": "service", "list_price": 4.5})
        company.write({"sepa_storno_fee_invoice": False})
        self.start_tour("/odoo/action-account.action_account_config",
                        "sepa_fee_settings_tour", login="admin")
        self.assertRecordValues(company, [{
            "sepa_storno_fee_invoice": True, "sepa_storno_fee_product_id": product.id}])
