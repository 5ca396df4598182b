from collections import defaultdict

from odoo import models


class SepaBatch(models.Model):
    _inherit = "sepa.batch"

    def _report_blocks(self):
        """Figures of each payment information block, as in the file, for the cover letter.

        One dict per block, in the order of the file (collection date, sequence type):
        ``pmt_inf_id``, ``sequence_type`` (code), ``sequence_label``, ``collection_date``,
        ``count`` (transactions: merged invoices count once) and ``amount`` (control sum).
        """
        self.ensure_one()
        labels = dict(self.env["sepa.batch.line"]._fields["sequence_type"]
                      ._description_selection(self.env))
        groups = defaultdict(lambda: {"end_to_end_ids": set(), "amount": 0.0})
        for line in self.line_ids:
            group = groups[(line.collection_date, line.sequence_type, line.pmt_inf_id or "")]
            group["end_to_end_ids"].add(line.end_to_end_id)
            group["amount"] += line.amount
        return [
            {
                "pmt_inf_id": pmt_inf_id,
                "sequence_type": sequence_type,
                "sequence_label": labels.get(sequence_type, sequence_type),
                "collection_date": collection_date,
                "count": len(group["end_to_end_ids"]),
                "amount": self.currency_id.round(group["amount"]),
            }
            for (collection_date, sequence_type, pmt_inf_id), group in sorted(groups.items())
        ]
