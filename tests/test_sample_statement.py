"""Download a sample bank statement: a sent batch's camt.053 in a demo database only."""

from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from ..sepa.readers import read_message
from .common import IBAN_C, ReturnImportHelpers, SepaBatchCommon


@tagged("post_install", "-at_install")
class TestSampleStatement(ReturnImportHelpers, SepaBatchCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_cycle_invoices()
        cls.third_partner, _mandate = cls.create_debtor(
            "Piet Jansen", IBAN_C, sequence_type="recurring", name="MDT-THIRD")
        cls.inv_third = cls.invoice(cls.third_partner, 45.5)
        cls.module = cls.env.ref("base.module_sepa_direct_debit").sudo()

    def send_batch(self):
        batch = self.create_batch()
        batch.action_generate()
        batch.action_send()
        return batch

    def download(self, batch):
        self.authenticate("accountman", "accountman")
        return self.url_open(f"/sepa_direct_debit/sample_statement/{batch.id}")

    def test_button_shown_for_sent_batches_in_demo_mode(self):
        arch = etree.fromstring(self.env["sepa.batch"].get_view(view_type="form")["arch"])
        [button] = arch.xpath("//button[@name='action_download_sample_statement']")
        self.assertEqual(button.get("string"), "Download a sample bank statement")
        self.assertEqual(button.get("invisible"), "state != 'sent' or not demo_mode")

    def test_hidden_outside_demo_mode(self):
        """The test database has no demo data: no sample, whatever is asked."""
        self.assertFalse(self.module.demo)
        batch = self.send_batch()
        self.assertFalse(batch.demo_mode)
        with self.assertRaisesRegex(UserError, "only offered in a database with demo data"):
            batch.action_download_sample_statement()
        self.assertEqual(self.download(batch).status_code, 404)

    def test_sample_of_a_sent_batch_in_demo_mode(self):
        self.module.demo = True
        batch = self.create_batch()
        self.assertTrue(batch.demo_mode)
        with self.assertRaisesRegex(UserError, "it is Draft"):
            batch.action_download_sample_statement()
        self.assertEqual(self.download(batch).status_code, 404)
        batch.action_generate()
        batch.action_send()
        action = batch.action_download_sample_statement()
        self.assertEqual(action["url"], f"/sepa_direct_debit/sample_statement/{batch.id}")
        response = self.download(batch)
        self.assertEqual(response.status_code, 200)
        self.assertIn(f"camt053-sample-{batch.name}.xml",
                      response.headers["Content-Disposition"])
        result = read_message(response.content)
        self.assertEqual(result.message, "camt.053.001.02")
        self.assertEqual(result.accounts, ("NL47BUNQ2020202020",))
        credit, *returns = result.transactions
        self.assertEqual(
            (credit.kind, credit.msg_id, float(credit.amount), credit.nb_of_txs,
             credit.booking_date),
            ("credit", batch.name, batch.bank_credit_amount, 3, batch.collection_date_last))
        debits = batch.line_ids.sorted("debit_number")
        first_debit = debits.filtered(lambda line: line.end_to_end_id == debits[0].end_to_end_id)
        self.assertEqual(
            [(tx.kind, tx.end_to_end_id, float(tx.amount), tx.reason_code, tx.creditor_id)
             for tx in returns],
            [("return", first_debit[0].end_to_end_id, sum(first_debit.mapped("amount")),
              "AM04", "NL69ZZZ123456780000"),
             ("refund", debits[len(first_debit)].end_to_end_id,
              debits[len(first_debit)].amount, "MD06", "NL69ZZZ123456780000")])
        # a settled batch has no sample any more
        batch.write({"state": "done"})
        self.assertEqual(self.download(batch).status_code, 404)

    def test_returns_of_the_sample_through_import_return_file(self):
        """Without OCA's statement import (a demo made offline) the same file gives its two
        failed debits through the addon's own Import Return File."""
        self.module.demo = True
        batch = self.send_batch()
        filename, data = self.env["sepa.sample.statement"]._statement_file(batch)
        wizard = self.preview(data, filename=filename)
        self.assertEqual(wizard.message, "camt.053.001.02")
        debits = batch.line_ids.sorted("debit_number")
        returned = debits.filtered(lambda line: line.end_to_end_id in (
            debits[0].end_to_end_id, debits.filtered(
                lambda d: d.end_to_end_id != debits[0].end_to_end_id)[0].end_to_end_id))
        self.assertEqual(
            sorted((line.status, line.batch_line_id.end_to_end_id, line.reason_code, line.kind)
                   for line in wizard.line_ids),
            [("match", returned[0].end_to_end_id, "AM04", "return"),
             ("match", returned[-1].end_to_end_id, "MD06", "refund")])
        wizard.action_apply()
        stornos = self.env["sepa.storno"].search([("batch_id", "=", batch.id)])
        self.assertEqual(sorted(stornos.mapped("reason_code")), ["AM04", "MD06"])
        self.assertEqual(set(returned.invoice_id.mapped("sepa_state")), {"failed"})

    def test_billing_users_of_the_company_only(self):
        """A billing user (no Show Full Accounting Features) downloads the sample of their
        company's batch; a user of another company and an internal user without
        accounting rights do not."""
        self.module.demo = True
        batch = self.send_batch()
        other = self.setup_other_company(name="Andere Vereniging")["company"]
        new_test_user(self.env, login="sample_billing", groups="account.group_account_invoice",
                      company_id=self.company.id)
        new_test_user(self.env, login="sample_other", groups="account.group_account_invoice",
                      company_id=other.id)
        new_test_user(self.env, login="sample_plain", groups="base.group_user",
                      company_id=self.company.id)
        url = f"/sepa_direct_debit/sample_statement/{batch.id}"
        self.authenticate("sample_billing", "sample_billing")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(read_message(response.content).transactions[0].msg_id, batch.name)
        for login in ("sample_other", "sample_plain"):
            self.authenticate(login, login)
            response = self.url_open(url)
            self.assertIn(response.status_code, (403, 404), login)
            self.assertNotIn(batch.name, response.text)
