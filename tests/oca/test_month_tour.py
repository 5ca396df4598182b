"""The bookkeeper's whole month in Chromium, next to OCA's bank modules
(static/tests/tours/sepa_month_tour.js): propose, generate, send, import the bank's
camt.053 through OCA's import wizard (the batch's credit and two returns), see the batch
settled and its failed debits, control them after reconciliation and propose the next
month's batch. The bookkeeper is a Community user with the billing group only (no "Show
Full Accounting Features"). The statement itself is imported by a user with that option:
Odoo gives bank statement lines to accountants only (read-only to the billing group) and
OCA its import wizard too."""

import base64
from decimal import Decimal

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from ...sepa.calendar import add_business_days
from ...sepa.camt053 import BatchCredit, ReturnedDebit, Statement, write_camt053
from ..common import CREDITOR_IBAN, CREDITOR_ID, IBAN_A, IBAN_B, IBAN_C, IBAN_D, SepaTourCase

#: Name of the bank statement the tour uploads (kept as an attachment: the user's disk).
STATEMENT_FILE = "sepa_month_statement.xml"
IBAN_E = "NL02ABNA0123456789"

#: The association's members: name, IBAN, membership fee.
MEMBERS = [
    ("Month Paid Member", IBAN_A, 120.0),
    ("Month Retried Member", IBAN_B, 45.0),
    ("Month Closed Account Member", IBAN_C, 60.0),
    ("Month Second Paid Member", IBAN_D, 75.5),
    ("Month Third Paid Member", IBAN_E, 30.0),
]


@tagged("post_install", "-at_install")
class TestMonthTour(SepaTourCase):
    def setUp(self):
        super().setUp()
        # The demo association: a euro company with a creditor identifier, a direct
        # debit bank journal with an IBAN, members with mandates and open invoices.
        self.journal = self.setup_creditor("Month Direct Debit Bank", "MDDB")
        self.bookkeeper = new_test_user(
            self.env, login="month_bookkeeper", groups="account.group_account_invoice",
            name="Month Bookkeeper", company_id=self.env.company.id)
        self.assertFalse(self.bookkeeper.has_group("account.group_account_user"))
        self.assertTrue(self.bookkeeper.has_group("sepa_direct_debit.group_sepa_user"))
        # "Show Full Accounting Features" in Community
        self.accountant = new_test_user(
            self.env, login="month_accountant", groups="account.group_account_user",
            name="Month Accountant", company_id=self.env.company.id)
        self.members = {}
        for name, iban, amount in MEMBERS:
            partner = self.env["res.partner"].create({
                "name": name, "country_id": self.env.ref("base.nl").id, "city": "Utrecht"})
            bank = self.env["res.partner.bank"].create({
                "acc_number": iban, "partner_id": partner.id})
            mandate = self.env["sepa.mandate"].create({
                "partner_id": partner.id, "partner_bank_id": bank.id,
                "signature_date": "2025-01-15"})
            mandate.action_activate()
            mandate.sequence_type_override = "recurring"  # debited in earlier months
            partner.sepa_collect = True
            self.members[name] = (mandate, self.membership_invoice(partner, amount))

    def membership_invoice(self, partner, amount):
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "currency_id": self.env.ref("base.EUR").id,
            "invoice_date": fields.Date.context_today(partner),
            "invoice_line_ids": [Command.create({
                "name": "Membership fee", "quantity": 1, "price_unit": amount,
                "tax_ids": [Command.clear()],
            })],
        })
        invoice.action_post()
        return invoice

    def statement_of(self, batch):
        """The bank's camt.053 (the toolkit's writer, as the demo's sample statement):
        the batch's credit on its collection day, naming the batch reference, and two
        debits returned two business days later, one AM04 (insufficient funds) and one
        AC04 (account closed). Returns the file and the two booking dates."""
        credited = batch.collection_date_last
        returned_on = add_business_days(credited, 2)
        returns = []
        for name, reason in [("Month Retried Member", "AM04"),
                             ("Month Closed Account Member", "AC04")]:
            mandate, invoice = self.members[name]
            line = batch.line_ids.filtered(lambda line, i=invoice: line.invoice_id == i)
            returns.append(ReturnedDebit(
                end_to_end_id=line.end_to_end_id, amount=Decimal(f"{line.amount:.2f}"),
                reason_code=reason, booking_date=returned_on, mandate_id=mandate.name,
                debtor_name=name, debtor_iban=mandate.partner_bank_id.sanitized_acc_number,
                remittance=line.remittance))
        statement = Statement(
            statement_id="MONTH-STMT-1", created=fields.Datetime.now(), iban=CREDITOR_IBAN,
            creditor_name=self.env.company.name, creditor_id=CREDITOR_ID,
            entries=(BatchCredit(msg_id=batch.name,
                                 amount=Decimal(f"{batch.bank_credit_amount:.2f}"),
                                 count=batch.debit_count, booking_date=credited),
                     *returns))
        return write_camt053(statement), credited, returned_on

    def test_month_tour(self):
        invoices = {name: invoice for name, (_mandate, invoice) in self.members.items()}
        self.start_tour("/odoo", "sepa_month_send_tour", login=self.bookkeeper.login)

        batch = self.env["sepa.batch"].search([("journal_id", "=", self.journal.id)])
        self.assertRecordValues(batch, [{"state": "sent", "line_count": 5,
                                         "amount_total": 330.5}])
        # collected all on one date: one payment block (all recurring), one bank credit
        self.assertEqual(len(set(batch.line_ids.mapped("collection_date"))), 1)
        self.assertEqual(len(set(batch.line_ids.mapped("pmt_inf_id"))), 1)
        data, credited, returned_on = self.statement_of(batch)
        self.env["ir.attachment"].create({
            "name": STATEMENT_FILE, "mimetype": "application/xml", "public": True,
            "datas": base64.b64encode(data)})

        self.start_tour("/odoo", "sepa_month_statement_tour", login=self.accountant.login)
        self.assertRecordValues(batch, [{"state": "done",
                                         "settled_date": credited}])
        self.start_tour("/odoo", "sepa_month_control_tour", login=self.bookkeeper.login)
        stornos = self.env["sepa.storno"].search([("batch_id", "=", batch.id)])
        by_invoice = {storno.invoice_ids: storno for storno in stornos}
        retried = invoices["Month Retried Member"]
        closed = invoices["Month Closed Account Member"]
        self.assertEqual(set(by_invoice), {retried, closed})
        self.assertEqual(set(stornos.mapped("date")), {returned_on})
        self.assertRecordValues(by_invoice[retried], [{
            "state": "done", "kind": "return", "reason_code": "AM04", "source": "statement",
            "release_state": "retry", "hold_note": False}])
        self.assertRecordValues(by_invoice[closed], [{
            "state": "done", "kind": "return", "reason_code": "AC04", "source": "statement",
            "release_state": "hold"}])
        self.assertIn("AC04", by_invoice[closed].hold_note)
        self.assertIn("Member asked for a new IBAN", by_invoice[closed].hold_note)
        self.assertEqual(batch.storno_release_count, 0)
        self.assertRecordValues(closed, [{"sepa_state": "on_hold", "payment_state": "not_paid"}])
        # in the next month's draft batch (not sent yet: still unpaid)
        self.assertRecordValues(retried, [{"sepa_state": "in_batch",
                                           "payment_state": "not_paid"}])
        paid = [invoices[name] for name in ("Month Paid Member", "Month Second Paid Member",
                                            "Month Third Paid Member")]
        for invoice in paid:
            self.assertRecordValues(invoice, [{"sepa_state": "collected",
                                               "payment_state": "paid"}])
        # the next month's batch (created by the tour from the proposal): the failed AM04
        # debit again, not the AC04 one held for a new account
        next_batch = self.env["sepa.batch"].search(
            [("journal_id", "=", self.journal.id), ("id", "!=", batch.id)])
        self.assertRecordValues(next_batch, [{"state": "draft", "line_count": 1,
                                              "amount_total": 45.0}])
        self.assertEqual(next_batch.line_ids.invoice_id, retried)
