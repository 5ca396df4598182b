from . import controllers
from . import models
from . import report
from . import wizards


def post_init_hook(env):
    """The companies that have a chart of accounts when the addon is installed get
    their direct debit accounts and storno fee product (later charts: see
    ``account.chart.template._post_load_data``)."""
    env["res.company"].search([("chart_template", "!=", False)])._sepa_setup_direct_debit()
