from odoo import api, models

from ..sepa.model import block_order


class ReportSepaBatch(models.AbstractModel):
    """Data of the batch cover letter (``sepa_direct_debit.report_sepa_batch``)."""

    _name = "report.sepa_direct_debit.report_sepa_batch"
    _description = "SEPA Direct Debit Batch Cover Letter"

    @api.model
    def _get_report_values(self, docids, data=None):
        batches = self.env["sepa.batch"].browse(docids)
        return {
            "doc_ids": docids,
            "doc_model": "sepa.batch",
            "docs": batches,
            "blocks": self._blocks(batches),
        }

    @api.model
    def _blocks(self, batches):
        """``{batch id: [block, ...]}``: the payment information blocks of each batch as
        in its file, in the rulebook's order (``sepa.model.block_order``), read in one
        grouped query.

        A block is a dict: ``pmt_inf_id``, ``sequence_type`` (code), ``sequence_label``,
        ``collection_date``, ``count`` (transactions: merged invoices count once) and
        ``amount`` (control sum).
        """
        labels = dict(self.env["sepa.batch.line"]._fields["sequence_type"]
                      ._description_selection(self.env))
        groups = self.env["sepa.batch.line"]._read_group(
            [("batch_id", "in", batches.ids)],
            groupby=["batch_id", "pmt_inf_id", "collection_date:day", "sequence_type"],
            aggregates=["end_to_end_id:count_distinct", "amount:sum"],
        )
        blocks = {batch.id: [] for batch in batches}
        for batch, pmt_inf_id, collection_date, sequence_type, count, amount in sorted(
                groups, key=lambda group: block_order(
                    (group[2], group[3], group[0].scheme))):
            blocks[batch.id].append({
                "pmt_inf_id": pmt_inf_id or "",
                "sequence_type": sequence_type,
                "sequence_label": labels.get(sequence_type, sequence_type),
                "collection_date": collection_date,
                "count": count,
                "amount": batch.currency_id.round(amount),
            })
        return blocks
