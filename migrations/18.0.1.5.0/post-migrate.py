"""18.0.1.5.0: what a new install gets, the companies and batches of an upgraded database
get too.

- Every company with a chart of accounts gets its own accounts of direct debits in
  transit, stornos outstanding and storno charges, and a storno fee product, where not
  set yet (before, transit and stornos fell back to the bank journal's payment method
  accounts, often the liquidity transfer account). Entries already booked keep their
  accounts: the new ones serve the batches and stornos booked from now on.
- Every batch not sent yet (draft or generated) gets its reminder: an activity for its
  responsible on its "Deliver to the Bank By" date.
"""
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.company"].search([])._sepa_setup_direct_debit()
    env["sepa.batch"].search([("state", "in", ("draft", "generated"))]) \
        ._sync_delivery_reminders()
