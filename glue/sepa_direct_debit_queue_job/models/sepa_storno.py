from odoo import _, api, models
from odoo.tools import SQL

from odoo.addons.queue_job.job import identity_exact
from odoo.addons.sepa_direct_debit.models import sepa_storno as storno_module

from .sepa_batch import CHANNEL, lock_rows

#: The stornos whose fee invoice is still to make.
_PENDING = SQL("fee_pending")


class SepaStorno(models.Model):
    _inherit = "sepa.storno"

    def _sepa_enqueue_fee_invoices(self):
        """The fee invoices of these stornos (``fee_pending``) in jobs of
        ``FEE_INVOICES_AT_ONCE`` invoices (customers) each, in the ``root.sepa``
        channel, instead of the cron."""
        groups = list(self._fee_groups().values())
        size = max(storno_module.FEE_INVOICES_AT_ONCE, 1)
        for start in range(0, len(groups), size):
            chunk = groups[start:start + size]
            self.browse(storno.id for stornos in chunk for storno in stornos).with_delay(
                channel=CHANNEL, identity_key=identity_exact,
                description=_("SEPA storno fee invoices: %(count)s customers",
                              count=len(chunk)),
            )._sepa_job_invoice_fees()

    def _sepa_job_invoice_fees(self):
        """Queue job: the fee invoices of these stornos still ``fee_pending``, one
        posted invoice per customer (``_create_fee_invoices``, one create). A
        concurrency error is retried by queue_job; an invoice Odoo refuses fails the job
        with the error naming it (as the cron fails), the stornos left pending: run the
        job again (*Requeue*) once the cause is fixed."""
        ids = lock_rows(self.env, "sepa_storno", self.ids, _PENDING)
        if not ids:
            return _("Nothing to do: the fee invoices were made already.")
        stornos = self.browse(ids)
        stornos.invalidate_recordset(["fee_pending", "fee_invoice_id"])
        invoices = self._create_fee_invoices(list(stornos._fee_groups().values()))
        stornos.write({"fee_pending": False})
        return _("%(count)s fee invoices made.", count=len(invoices))

    @api.model
    def _cron_invoice_fees(self, limit=None):
        """With the job queue, the cron makes no invoice itself: it hands the stornos
        still ``fee_pending`` to the queue (those already in a waiting job get no second
        one: same identity, or nothing left to do when it runs)."""
        self.search([("fee_pending", "=", True)], order="id")._sepa_enqueue_fee_invoices()
