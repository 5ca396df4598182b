from odoo.tests import tagged

from .common import SepaCommon


@tagged("post_install", "-at_install")
class TestMandateReport(SepaCommon):
    def test_mandate_form_prints(self):
        mandate = self.create_active_mandate(name="MDT-PRINT-1")
        flat = self.render_pdf_text("sepa_direct_debit.action_report_sepa_mandate", mandate)
        for expected in ("MDT-PRINT-1", "NL20 INGB 0001 2345 67", "INGBNL2A", "NL69ZZZ123456780000",
                         "Vereniging De Eendracht", "SEPA Direct Debit Mandate",
                         "entitled to a refund", "doorlopende incasso-opdrachten"):
            self.assertIn(expected, flat)

    def test_report_html_b2b_one_off(self):
        mandate = self.create_active_mandate(scheme="B2B", mandate_type="one_off")
        html = self.env["ir.actions.report"]._render_qweb_html(
            "sepa_direct_debit.action_report_sepa_mandate", mandate.ids)[0].decode()
        self.assertIn("business-to-business", html)
        self.assertIn("[X] One-off payment", html)
        self.assertNotIn("entitled to a refund from your bank under", html)
