from odoo.tests import tagged

from .common import SepaTourCase


@tagged("post_install", "-at_install")
class TestMandateTour(SepaTourCase):
    def test_mandate_menu_tour(self):
        partner = self.env["res.partner"].create({"name": "Tour Debtor", "is_company": True})
        bank = self.env["res.partner.bank"].create({
            "acc_number": "NL91ABNA0417164300", "partner_id": partner.id})
        self.env["sepa.mandate"].create({
            "name": "MDT-TOUR-1",
            "partner_id": partner.id,
            "partner_bank_id": bank.id,
            "signature_date": "2025-01-15",
        }).action_activate()
        self.start_tour("/odoo", "sepa_mandate_tour", login="admin")
