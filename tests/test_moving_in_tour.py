"""Moving in, in Chromium (static/tests/tours/sepa_moving_in_tour.js): a billing user
imports the previous package's mandates through Odoo's import dialog (the Test names a
mistyped IBAN, the corrected file is imported) and converts the customer marked "Collect
by Direct Debit" without a mandate."""

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from .common import IBAN_C, IBAN_D, SepaTourCase

IBAN_IMPORTED = "NL02ABNA0123456789"


@tagged("post_install", "-at_install")
class TestMovingInTour(SepaTourCase):
    def test_moving_in_tour(self):
        journal = self.setup_creditor("Moving In Bank", "MVBK")
        Partner = self.env["res.partner"]
        one = Partner.create({"name": "Moving In One", "ref": "MV-001"})
        two = Partner.create({"name": "Moving In Two", "ref": "MV-002"})
        three = Partner.create({"name": "Moving In Three", "ref": "MV-003",
                                "bank_ids": [Command.create({"acc_number": IBAN_C})]})
        three.sepa_collect = True  # it gets a mandate to sign
        placeholder = three.sepa_mandate_ids
        self.assertEqual(placeholder.state, "draft")
        # a billing user who may add contacts' bank accounts (Contact Creation)
        billing = new_test_user(
            self.env, login="moving_in_billing",
            groups="account.group_account_invoice,base.group_partner_manager",
            company_id=self.env.company.id)
        self.assertFalse(billing.has_group("account.group_account_user"))

        self.start_tour("/odoo", "sepa_moving_in_tour", login=billing.login)

        today = fields.Date.context_today(billing)
        Mandate = self.env["sepa.mandate"]
        imported = Mandate.search([("name", "in", ["TOUR-MV-1", "TOUR-MV-2"])], order="name")
        self.assertRecordValues(imported, [
            {"partner_id": one.id, "state": "active", "converted": True,
             "sequence_type": "recurring", "last_debit_date": today - relativedelta(days=30),
             "signature_date": fields.Date.to_date("2015-05-01"),
             "create_uid": billing.id},
            {"partner_id": two.id, "state": "draft", "converted": False,
             "sequence_type": "first", "last_debit_date": False, "signature_date": False,
             "create_uid": billing.id},
        ])
        self.assertEqual(imported.partner_bank_id.mapped("sanitized_acc_number"),
                         [IBAN_IMPORTED, IBAN_D])
        self.assertTrue(one.sepa_collect and two.sepa_collect)
        converted = Mandate.search([("partner_id", "=", three.id), ("state", "=", "active")])
        self.assertRecordValues(converted, [{
            "name": "TOUR-MV-003", "converted": True, "sequence_type": "recurring",
            "last_debit_date": today - relativedelta(days=20),
            "signature_date": today - relativedelta(days=20),
            "partner_bank_id": three.bank_ids.id, "create_uid": billing.id}])
        self.assertEqual(placeholder.state, "closed", "replaced by the converted mandate")
        # the customer taken out of the list keeps its imported mandate to sign only
        self.assertEqual(two.sepa_mandate_ids, imported[1])
        # the next proposal collects both taken-over mandates as recurring (RCUR)
        invoices = self.env["account.move"].create([{
            "move_type": "out_invoice", "partner_id": partner.id,
            "currency_id": self.env.ref("base.EUR").id, "invoice_date": today,
            "invoice_line_ids": [Command.create({
                "name": "Contributie", "quantity": 1, "price_unit": 25.0,
                "tax_ids": [Command.clear()]})],
        } for partner in (one, three)])
        invoices.action_post()
        proposal = self.env["sepa.batch.proposal"].create({
            "journal_id": journal.id, "invoice_ids": [Command.set(invoices.ids)]})
        proposal.action_propose()
        self.assertEqual(
            {(line.mandate_id.name, line.sequence_type) for line in proposal.line_ids},
            {("TOUR-MV-1", "RCUR"), ("TOUR-MV-003", "RCUR")})
