"""The background work on OCA's queue_job: the glue module sepa_direct_debit_queue_job
(auto-installed next to queue_job in the OCA test database) puts large batches, the fee
invoices of large registrations and the addon's customer e-mails on jobs in the
``root.sepa`` channel. Each job here runs as the job runner has it run (the steps of
queue_job's ``/queue_job/runjob``), in the test's transaction."""

import traceback
from contextlib import contextmanager
from unittest.mock import patch

from psycopg2 import OperationalError

import odoo
from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.sepa_direct_debit_queue_job.models import sepa_storno_mail as glue_mail

from ...models import sepa_storno
from ..common import SmtpCaseMixin
from ..test_storno_accounting import StornoCommon

GLUE = "sepa_direct_debit_queue_job"


@tagged("post_install", "-at_install")
class TestQueueJob(SmtpCaseMixin, StornoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sepa_background_threshold = 0  # every batch in the background
        cls.make_cycle_invoices()

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------

    def jobs(self, method):
        """The queue jobs of ``method``, as the administrator sees them (the job list is
        the Job Queue Managers')."""
        return self.env["queue.job"].sudo().search([("method_name", "=", method)],
                                                    order="id")

    def run_job(self, record):
        """Run the queue job ``record`` as queue_job's ``/queue_job/runjob`` does (its
        controller's steps): started, performed, done; a retryable error, a concurrency
        error (serialization failure, lock not available) included, postpones it:
        pending again, its try counted; any other error fails it and is raised. What the
        job did is rolled back on an error (a savepoint here: the runner's transactions
        are the test's)."""
        self.env.flush_all()
        job = Job.load(self.env, record.uuid)
        job.set_started()
        job.store()
        try:
            try:
                with self.env.cr.savepoint():
                    job.perform()
                    self.env.flush_all()
            except OperationalError as error:
                if error.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                    raise
                raise RetryableJobError(error.pgerror, seconds=5) from error
        except RetryableJobError as error:
            job.postpone(result=str(error), seconds=error.seconds)
            job.set_pending(reset_retry=False)
            job.store()
        except Exception as error:
            job.set_failed(**RunJobController()._get_failure_values(
                job, traceback.format_exc(), error))
            job.store()
            raise
        else:
            job.set_done()
            job.store()
        self.env.invalidate_all()
        return record

    @contextmanager
    def row_locked_elsewhere(self):
        """Another transaction (its own connection) holds the lock of a committed row
        that the test does not touch (a country's): yields the statement that, in the
        job, takes that lock as the job's writes take theirs (NOWAIT: a real "lock not
        available" at once, as when a user or the cron holds a row the job writes)."""
        country = self.env.ref("base.aq").id
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute("SELECT id FROM res_country WHERE id = %s FOR UPDATE NOWAIT",
                          [country])
            yield SQL("SELECT id FROM res_country WHERE id = %s FOR UPDATE NOWAIT", country)
            other.rollback()

    # ------------------------------------------------------------------
    # tests
    # ------------------------------------------------------------------

    def test_glue_installed_with_queue_job_and_its_channel(self):
        module = self.env["ir.module.module"].search([("name", "=", GLUE)])
        self.assertRecordValues(module, [{"state": "installed", "auto_install": True}])
        self.assertEqual(set(module.dependencies_id.mapped("name")),
                         {"sepa_direct_debit", "queue_job"})
        channel = self.env.ref(f"{GLUE}.channel_sepa").sudo()
        self.assertEqual(channel.complete_name, "root.sepa")
        functions = self.env["queue.job.function"].sudo().search([
            ("channel_id", "=", channel.id)])
        self.assertEqual(set(functions.mapped("name")), {
            "<sepa.batch>._sepa_job_run", "<sepa.storno>._sepa_job_invoice_fees",
            "<sepa.storno.mail>._sepa_job_send_mails"})
        for function in functions:  # concurrency errors: again after 10 s, then 60 s
            self.assertEqual(function.job_config(function.name).retry_pattern,
                             {1: 10, 4: 60})

    def test_large_batch_generated_and_posted_by_jobs(self):
        cron = self.env.ref("sepa_direct_debit.ir_cron_sepa_batch_jobs")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        batch = self.create_batch()
        batch.action_generate()
        # waiting: the batch says so, one job in the sepa channel, no cron run asked
        self.assertRecordValues(batch, [{"state": "draft", "job_state": "generate"}])
        job = self.jobs("_sepa_job_run")
        self.assertRecordValues(job, [{
            "state": "pending", "channel": "root.sepa", "model_name": "sepa.batch",
            "user_id": self.env.uid,
            "name": f"SEPA batch {batch.name}: Generating the file"}])
        self.assertEqual(job.records, batch)
        self.assertEqual(job.open_related_action()["res_id"], batch.id)
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers)
        # the daily cron hands over what waits without a job: this one has one
        self.env["sepa.batch"]._cron_process_jobs()
        self.assertEqual(self.jobs("_sepa_job_run"), job)

        self.run_job(job)
        self.assertRecordValues(job, [{"state": "done", "retry": 1}])
        self.assertIn("is File Generated", job.result)
        self.assertRecordValues(batch, [{"state": "generated", "job_state": False,
                                         "job_error": False}])
        self.assertTrue(batch.file)
        self.assertIn("Background job finished.", batch.message_ids[0].body)

        batch.action_send()
        self.assertEqual(batch.job_state, "send")
        send_job = self.jobs("_sepa_job_run") - job
        self.assertRecordValues(send_job, [{
            "state": "pending", "name": f"SEPA batch {batch.name}: Posting the entry"}])
        self.run_job(send_job)
        self.assertEqual(send_job.state, "done")
        self.assertRecordValues(batch, [{"state": "sent", "job_state": False}])
        self.assertTrue(batch.move_id)

    def test_daily_cron_hands_waiting_batches_to_the_queue(self):
        batch = self.create_batch()
        batch.job_state = "generate"  # waiting from before the module: no job
        self.assertFalse(self.jobs("_sepa_job_run"))
        self.env["sepa.batch"]._cron_process_jobs()
        job = self.jobs("_sepa_job_run")
        self.assertRecordValues(job, [{"state": "pending", "channel": "root.sepa"}])
        self.assertEqual(job.records, batch)
        # the cron ran nothing itself: the job does
        self.assertRecordValues(batch, [{"state": "draft", "job_state": "generate"}])
        self.run_job(job)
        self.assertRecordValues(batch, [{"state": "generated", "job_state": False}])

    def test_batch_cancelled_before_its_job_ran(self):
        batch = self.create_batch()
        batch.action_generate()
        batch.action_cancel()
        job = self.run_job(self.jobs("_sepa_job_run"))
        self.assertEqual(job.state, "done")
        self.assertIn("Nothing to do", job.result)
        self.assertRecordValues(batch, [{"state": "cancel", "file": False}])

    def test_concurrency_error_is_retried(self):
        batch = self.create_batch()
        batch.action_generate()
        job = self.jobs("_sepa_job_run")
        Batch = type(self.env["sepa.batch"])
        generate = Batch._generate_file
        with self.row_locked_elsewhere() as take_lock:
            def generate_after_lock(records):
                records.env.execute_query(take_lock)
                return generate(records)

            with patch.object(Batch, "_generate_file", generate_after_lock), \
                    mute_logger("odoo.sql_db"):
                self.run_job(job)
            # queue_job runs it again later: pending, one try counted, not before 10 s
            self.assertRecordValues(job, [{"state": "pending", "retry": 1}])
            self.assertGreater(job.eta, fields.Datetime.now())
            self.assertIn("could not obtain lock", job.result)
            # the batch still waits for it, nothing done, no error
            self.assertRecordValues(batch, [{"state": "draft", "job_state": "generate",
                                             "job_error": False, "file": False}])
        # the other transaction ended: the next run generates the file
        job.eta = False
        self.run_job(job)
        self.assertRecordValues(job, [{"state": "done", "retry": 2}])
        self.assertRecordValues(batch, [{"state": "generated", "job_state": False}])

    def test_other_error_left_on_the_batch_as_with_the_cron(self):
        batch = self.create_batch()
        batch.action_generate()
        self.mandate_recurring._revoke(fields.Date.today(), "Left")
        job = self.run_job(self.jobs("_sepa_job_run"))
        # the batch as the cron leaves it: undone, the error stored and in the chatter
        self.assertRecordValues(batch, [{"state": "draft", "job_state": False,
                                         "file": False}])
        self.assertIn(f"{self.inv_recurring.name} (mandate MDT-RCUR: Revoked)",
                      batch.job_error)
        self.assertIn("Background job failed (Generating the file)",
                      batch.message_ids[0].body)
        # the job is done (retrying cannot help), its result says why
        self.assertEqual(job.state, "done")
        self.assertIn("Failed, nothing was changed", job.result)
        self.assertIn("MDT-RCUR", job.result)

    def test_fee_invoices_of_a_large_registration_by_jobs(self):
        fee_product = self._create_product(name="Storno fee", type="service", lst_price=7.5)
        self.company.write({"sepa_storno_fee_invoice": True,
                            "sepa_storno_fee_product_id": fee_product.id})
        self.company.sepa_background_threshold = 1000
        batch = self.send_batch()
        with patch.object(sepa_storno, "FEE_INVOICES_AT_ONCE", 1):
            stornos = self.Storno.register([{
                "batch_line_id": self.line_of(batch, invoice).id, "reason_code": "AM04",
                "kind": "reject", "date": fields.Date.today(), "source": "manual",
                "charge_amount": charge}
                for invoice, charge in ((self.inv_first_1, 5.0), (self.inv_recurring, 2.5))])
        self.assertEqual(stornos.mapped("fee_pending"), [True, True])
        self.assertFalse(stornos.fee_invoice_id)
        # one job per chunk of FEE_INVOICES_AT_ONCE customers: here one each
        jobs = self.jobs("_sepa_job_invoice_fees")
        self.assertEqual(jobs.mapped("channel"), ["root.sepa"] * 2)
        self.assertEqual(jobs.mapped("name"), ["SEPA storno fee invoices: 1 customers"] * 2)
        self.assertEqual(jobs[0].records | jobs[1].records, stornos)
        # a concurrency error: retried
        create = type(self.Storno)._create_fee_invoices
        with self.row_locked_elsewhere() as take_lock:
            def create_after_lock(model, groups):
                model.env.execute_query(take_lock)
                return create(model, groups)

            with patch.object(type(self.Storno), "_create_fee_invoices", create_after_lock), \
                    mute_logger("odoo.sql_db"):
                self.run_job(jobs[0])
        self.assertRecordValues(jobs[0], [{"state": "pending", "retry": 1}])
        self.assertFalse(stornos.fee_invoice_id)
        jobs[0].eta = False
        for job in jobs:
            self.run_job(job)
        self.assertEqual(jobs.mapped("state"), ["done", "done"])
        self.assertEqual(jobs.mapped("result"), ["1 fee invoices made."] * 2)
        self.assertRecordValues(stornos, [{"fee_pending": False}, {"fee_pending": False}])
        self.assertRecordValues(stornos.fee_invoice_id.sorted("amount_untaxed"), [
            {"partner_id": self.recurring_partner.id, "amount_untaxed": 2.5,
             "state": "posted"},
            {"partner_id": self.debtor.id, "amount_untaxed": 5.0, "state": "posted"}])
        # the daily cron finds nothing left to hand over
        self.Storno._cron_invoice_fees()
        self.assertEqual(self.jobs("_sepa_job_invoice_fees"), jobs)

    def test_fee_invoice_refused_fails_the_job_and_stays_pending(self):
        vat = self.env["account.tax"].create({
            "name": "VAT 21% (fee)", "amount": 21.0, "amount_type": "percent",
            "type_tax_use": "sale", "company_id": self.company.id})
        fee_product = self._create_product(name="Storno fee", type="service", lst_price=7.5,
                                           taxes_id=[Command.set(vat.ids)])
        self.company.write({"sepa_storno_fee_invoice": True,
                            "sepa_storno_fee_product_id": fee_product.id})
        self.company.sepa_background_threshold = 1000
        # Odoo will refuse the invoice: the product's tax (the generic chart's, American)
        # is not of the company's fiscal country
        self.company.account_fiscal_country_id = self.env.ref("base.nl")
        batch = self.send_batch()
        with patch.object(sepa_storno, "FEE_INVOICES_AT_ONCE", 0):
            storno = self.register(self.line_of(batch, self.inv_recurring), charge_amount=2.5)
        self.assertTrue(storno.fee_pending)
        job = self.jobs("_sepa_job_invoice_fees")
        # the job fails as the cron would, naming the customer (not Odoo's assertRaises,
        # which rolls back what its block did: the failed job too)
        failure = None
        try:
            self.run_job(job)
        except UserError as error:
            failure = error
        self.assertIn("Storno fee invoice for Jan de Vries", str(failure))
        self.assertEqual(job.state, "failed")
        self.assertIn("Storno fee invoice for Jan de Vries", job.exc_message)
        self.assertIn("incompatible with your fiscal country", job.exc_message)
        self.assertRecordValues(storno, [{"fee_pending": True, "fee_invoice_id": False}])

    def test_customer_emails_sent_by_jobs_in_chunks(self):
        self.company.write({"email": "leden@eendracht.example", "sepa_notice_method": "email"})
        self.debtor.email = "penningmeester@eendracht.example"
        self.recurring_partner.email = "jan@devries.example"
        with patch.object(glue_mail, "MAILS_AT_ONCE", 1):
            batch = self.create_batch()  # a pre-notification per debit: two e-mails
        mails = batch.line_ids.notice_mail_id
        self.assertEqual(len(mails), 2)
        jobs = self.jobs("_sepa_job_send_mails")
        self.assertRecordValues(jobs, [
            {"state": "pending", "channel": "root.sepa", "name": "SEPA customer e-mails: 1"},
            {"state": "pending", "channel": "root.sepa", "name": "SEPA customer e-mails: 1"}])
        self.assertEqual(sorted(id_ for job in jobs for id_ in job.args[0]), sorted(mails.ids))
        message_ids = set(mails.mapped("message_id"))
        # Odoo does not send while a test runs: the guard lifted for the jobs only
        with patch.object(odoo.modules.module, "current_test", False):
            for job in jobs:
                self.run_job(job)
        self.assertEqual(jobs.mapped("state"), ["done", "done"])
        self.assertEqual(jobs.mapped("result"), ["1 e-mails sent, 0 failed."] * 2)
        arrived = self.arrived_messages({message_id.strip() for message_id in message_ids})
        self.assertEqual(sorted(str(message["X-Envelope-To"]) for message in arrived),
                         ["jan@devries.example", "penningmeester@eendracht.example"])
        self.assertEqual(set(batch.line_ids.mapped("notice_state")), {"sent"})
