"""18.0.1.5.0: what a new install gets, the companies and batches of an upgraded database
get too.

- Every company with a chart of accounts gets its own accounts of direct debits in
  transit, stornos outstanding and storno charges, and a storno fee product, where not
  set yet (before, transit and stornos fell back to the bank journal's payment method
  accounts, often the liquidity transfer account). Entries already booked keep their
  accounts: the new ones serve the batches and stornos booked from now on.
- Every batch not sent yet (draft or generated) gets its reminder: an activity for its
  responsible on its "Deliver to the Bank By" date.
- An open invoice "To collect" whose mandate is flagged *Account No Longer Valid* (an
  AC04/AC01 failed debit) says so (its new status *Account no longer valid*): no batch
  takes it until the customer's new IBAN is entered.
- Companies that used the addon before keep printing mandate forms: *Send New Mandates
  for Signature* (on for new companies) is switched off for them; they switch it on in
  the settings when they want it.
"""
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.company"].search([])._sepa_setup_direct_debit()
    cr.execute("UPDATE res_company SET sepa_sign_auto_send = FALSE")
    env["sepa.batch"].search([("state", "in", ("draft", "generated"))]) \
        ._sync_delivery_reminders()
    Move = env["account.move"]
    invoices = Move.search([("sepa_state", "=", "to_collect"),
                            ("sepa_mandate_id.account_invalid", "=", True)])
    env.add_to_compute(Move._fields["sepa_state"], invoices)
    invoices.flush_recordset(["sepa_state"])
