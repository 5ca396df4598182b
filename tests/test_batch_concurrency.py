import threading
from contextlib import closing

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestBatchConcurrency(TransactionCase):
    """Two users creating a batch at the same moment, on two real database connections."""

    def setUp(self):
        super().setUp()
        self.connection = db_connect(self.env.cr.dbname)
        with closing(self.connection.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["res.partner"].create({"name": "Concurrent Debtor"})
            journal = env["account.journal"].search(
                [("type", "=", "bank"), ("company_id", "=", env.company.id)], limit=1)
            self.ids = {
                "partner": partner.id,
                "mandate": env["sepa.mandate"].create({"partner_id": partner.id}).id,
                "invoice": env["account.move"].create(
                    {"move_type": "out_invoice", "partner_id": partner.id}).id,
                "invoice_2": env["account.move"].create(
                    {"move_type": "out_invoice", "partner_id": partner.id}).id,
                "batches": env["sepa.batch"].create(
                    [{"journal_id": journal.id}, {"journal_id": journal.id}]).ids,
            }
            cr.commit()
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with closing(self.connection.cursor()) as cr:
            ids = self.ids
            invoices = (ids["invoice"], ids["invoice_2"])
            cr.execute("DELETE FROM sepa_batch_line WHERE invoice_id IN %s", [invoices])
            cr.execute("DELETE FROM sepa_batch WHERE id IN %s", [tuple(ids["batches"])])
            cr.execute("DELETE FROM account_move WHERE id IN %s", [invoices])
            cr.execute("DELETE FROM sepa_mandate WHERE id = %s", [ids["mandate"]])
            cr.execute("DELETE FROM res_partner WHERE id = %s", [ids["partner"]])
            cr.commit()

    def _line_vals(self, batch_id, invoice="invoice"):
        return [{
            "batch_id": batch_id,
            "invoice_id": self.ids[invoice],
            "partner_id": self.ids["partner"],
            "mandate_id": self.ids["mandate"],
            "amount": 10.0,
            "sequence_type": "FRST",
            "collection_date": "2030-01-02",
            "debit_number": 1,
            "end_to_end_id": f"CONCURRENT-{batch_id}",
        }]

    def _race(self, second_invoice):
        """The first user creates a line of the first batch and keeps the transaction
        open while a second user, on another connection, creates one of the second
        batch for ``second_invoice``; returns what happened to the second user."""
        first_batch, second_batch = self.ids["batches"]
        outcome = {}

        def second_user():
            with closing(self.connection.cursor()) as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                try:
                    env["sepa.batch.line"]._create_guarded(
                        self._line_vals(second_batch, second_invoice))
                    cr.commit()
                    outcome["second"] = "created"
                except SerializationFailure:
                    outcome["second"] = "retry"  # Odoo retries such a request
                    cr.rollback()
                except UserError as error:
                    outcome["second"] = str(error)

        with closing(self.connection.cursor()) as cr1:
            env1 = api.Environment(cr1, SUPERUSER_ID, {})
            env1["sepa.batch.line"]._create_guarded(self._line_vals(first_batch))
            # The second user inserts while the first transaction is still open: it
            # must wait for the first one's outcome.
            thread = threading.Thread(target=second_user)
            thread.start()
            thread.join(timeout=2)
            self.assertTrue(thread.is_alive(), "the second batch should wait for the first")
            cr1.commit()
        thread.join(timeout=30)
        self.assertFalse(thread.is_alive())
        return outcome["second"]

    def test_same_invoice_never_in_two_open_batches(self):
        first_batch = self.ids["batches"][0]
        self.assertIn("Another user put some of these invoices in a batch",
                      self._race("invoice"))
        with closing(self.connection.cursor()) as cr:
            cr.execute("SELECT batch_id FROM sepa_batch_line WHERE invoice_id = %s",
                       [self.ids["invoice"]])
            self.assertEqual([row[0] for row in cr.fetchall()], [first_batch])

    def test_one_first_debit_per_mandate_across_batches(self):
        """Two users put different invoices of one mandate as first debits (FRST) in
        two batches at the same moment: only the first batch gets it."""
        first_batch, second_batch = self.ids["batches"]
        self.assertEqual(self._race("invoice_2"), "retry")
        # The retry sees the first batch and says why.
        with closing(self.connection.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            first_name = env["sepa.batch"].browse(first_batch).name
            with self.assertRaisesRegex(UserError, rf"first debit of these mandates is "
                                        rf"already in another batch.*\({first_name}\)"):
                env["sepa.batch.line"]._create_guarded(
                    self._line_vals(second_batch, "invoice_2"))
            cr.rollback()
            cr.execute("SELECT batch_id FROM sepa_batch_line WHERE mandate_id = %s",
                       [self.ids["mandate"]])
            self.assertEqual([row[0] for row in cr.fetchall()], [first_batch])

    def test_first_debit_free_again_after_cancel(self):
        first_batch, second_batch = self.ids["batches"]
        with closing(self.connection.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            lines = env["sepa.batch.line"]
            lines._create_guarded(self._line_vals(first_batch))
            # Several invoices of one mandate in ONE batch share its first debit.
            lines._create_guarded(self._line_vals(first_batch, "invoice_2"))
            env["sepa.batch"].browse(first_batch).action_cancel()
            lines._create_guarded(self._line_vals(second_batch, "invoice_2"))
            cr.execute("SELECT batch_id FROM sepa_batch_line WHERE is_open AND mandate_id = %s",
                       [self.ids["mandate"]])
            self.assertEqual([row[0] for row in cr.fetchall()], [second_batch])
            cr.rollback()

    def test_cancelled_batch_releases_the_invoice(self):
        first_batch, second_batch = self.ids["batches"]
        with closing(self.connection.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["sepa.batch.line"]._create_guarded(self._line_vals(first_batch))
            env["sepa.batch"].browse(first_batch).action_cancel()
            env["sepa.batch.line"]._create_guarded(self._line_vals(second_batch))
            cr.execute("SELECT batch_id, is_open FROM sepa_batch_line WHERE invoice_id = %s "
                       "ORDER BY id", [self.ids["invoice"]])
            self.assertEqual(cr.fetchall(), [(first_batch, False), (second_batch, True)])
            cr.rollback()
