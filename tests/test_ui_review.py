"""What the click-through review of a billing-only bookkeeper's month found (issue 18):
an invoice whose mandate's account is no longer valid said "To collect" while no
proposal takes it, and screens that cut off or hid what the bookkeeper needs."""

from lxml import etree

from odoo.tests import tagged

from .test_storno_control import ControlCommon

NEW_IBAN = "NL98BUNQ2025551234"


@tagged("post_install", "-at_install")
class TestUiReview(ControlCommon):

    def arch(self, model, view_type="form", view=None):
        view_id = self.env.ref(view).id if view else None
        return etree.fromstring(self.env[model].get_view(view_id, view_type)["arch"])

    # ------------------------------------------------------------------
    # the invoice of a mandate whose account is no longer valid
    # ------------------------------------------------------------------

    def test_invoice_of_a_closed_account_is_not_to_collect(self):
        """AC04: the mandate is not proposed until its IBAN changes, so its next invoice
        says so (Account no longer valid, a status that cannot be collected), not "To
        collect"; a new IBAN makes it collectable again."""
        batch = self.send_batch()
        self.register(self.line_of(batch, self.inv_recurring), code="AC04", kind="return")
        mandate = self.mandate_recurring
        self.assertTrue(mandate.account_invalid)
        next_invoice = self.invoice(self.recurring_partner, 35.0)
        self.assertEqual(next_invoice.sepa_state, "account_invalid")
        label = dict(next_invoice._fields["sepa_state"]._description_selection(self.env))
        self.assertEqual(label["account_invalid"], "Account no longer valid")
        Move = self.env["account.move"]
        self.assertNotIn(next_invoice, Move.search([("sepa_state", "=", "to_collect")]))
        # listed with the invoices that cannot be collected
        search = self.arch("account.move", "search",
                           "sepa_direct_debit.view_account_invoice_filter_sepa")
        blocked = search.xpath("//filter[@name='sepa_blocked']")[0].get("domain")
        self.assertIn("account_invalid", blocked)
        # the failed invoice itself stays Failed until it is decided
        self.assertEqual(self.inv_recurring.sepa_state, "failed")
        # a new IBAN (an amendment) clears it
        mandate.partner_bank_id = self.env["res.partner.bank"].create(
            {"acc_number": NEW_IBAN, "partner_id": mandate.partner_id.id})
        self.assertFalse(mandate.account_invalid)
        self.assertEqual(next_invoice.sepa_state, "to_collect")
