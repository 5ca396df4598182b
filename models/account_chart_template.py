from odoo import models


class AccountChartTemplate(models.AbstractModel):
    _inherit = "account.chart.template"

    def _post_load_data(self, template_code, company, template_data):
        """A company gets its direct debit accounts and storno fee product as soon as it
        has a chart of accounts (also when the chart is loaded after the install)."""
        super()._post_load_data(template_code, company, template_data)
        (company or self.env.company)._sepa_setup_direct_debit()
