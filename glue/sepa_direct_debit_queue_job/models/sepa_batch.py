from psycopg2 import OperationalError

from odoo import _, api, models
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

#: The job runner's channel of every SEPA job (data/queue_job_data.xml).
CHANNEL = "root.sepa"


def lock_rows(env, table, ids, condition):
    """Lock the rows ``ids`` of ``table`` that meet ``condition`` for this job and
    return their ids; a row another transaction holds (a user, the cron, another job)
    is a concurrency error that queue_job retries later (``RetryableJobError``), the
    transaction left usable (savepoint)."""
    try:
        with env.cr.savepoint():
            return [row[0] for row in env.execute_query(SQL(
                "SELECT id FROM %s WHERE id = ANY(%s) AND %s ORDER BY id "
                "FOR NO KEY UPDATE NOWAIT", SQL.identifier(table), list(ids), condition))]
    except OperationalError as error:
        if error.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
            raise RetryableJobError(str(error)) from error
        raise


class SepaBatch(models.Model):
    _inherit = "sepa.batch"

    def _sepa_enqueue_job(self):
        """One job per batch in the ``root.sepa`` channel, instead of the cron. The batch
        keeps its ``job_state`` (*In Progress*) until the job ran; a batch already
        waiting for a job gets no second one (same identity)."""
        labels = dict(self._fields["job_state"]._description_selection(self.env))
        for batch in self:
            batch.with_delay(
                channel=CHANNEL, identity_key=identity_exact,
                description=_("SEPA batch %(batch)s: %(job)s",
                              batch=batch.name, job=labels[batch.job_state]),
            )._sepa_job_run()

    def _sepa_job_run(self):
        """Queue job: the waiting job of this batch (``job_state``: generate the file or
        post the entry), as the cron runs it (``_process_job``). A concurrency error is
        raised as ``RetryableJobError`` (queue_job runs the job again later, the batch
        still waiting); any other error is the batch's, as with the cron (rolled back,
        ``job_error`` and a chatter message, the buttons back) and the job is done, its
        result saying so. Nothing to do when the job was run or undone meanwhile."""
        self.ensure_one()
        if not lock_rows(self.env, "sepa_batch", self.ids, SQL("job_state IS NOT NULL")):
            return _("Nothing to do: the batch is no longer waiting for a background job.")
        self.invalidate_recordset(["job_state", "job_error"])
        job = self.job_state
        try:
            self._process_job()  # rolled back and re-raised: only OperationalError
        except OperationalError as error:
            if error.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
                raise RetryableJobError(str(error)) from error
            self._job_failed(job, error)  # any other: the batch's, as the others
        if self.job_error:
            return _("Failed, nothing was changed: %(reason)s", reason=self.job_error)
        return _("Done: batch %(batch)s is %(state)s.", batch=self.name, state=dict(
            self._fields["state"]._description_selection(self.env))[self.state])

    @api.model
    def _cron_process_jobs(self):
        """With the job queue, the cron runs nothing itself: it hands the batches still
        waiting without a job (e.g. from before this module) to the queue."""
        self.search([("job_state", "!=", False)], order="id")._sepa_enqueue_job()
