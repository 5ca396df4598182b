from collections import defaultdict

from odoo import _, fields, models

from ..constants import PAIN_VERSIONS, SEPA_GROUP


class AccountJournal(models.Model):
    _inherit = "account.journal"

    sepa_pain_version = fields.Selection(
        PAIN_VERSIONS,
        string="pain.008 Version",
        help="Version of the direct debit files collected on this bank account; empty: "
        "the company's setting.",
    )

    def _sepa_pain_version(self):
        self.ensure_one()
        return self.sepa_pain_version or self.company_id.sepa_pain_version

    # ------------------------------------------------------------------
    # DASHBOARD: the Direct Debit lines of the bank journal's card
    # ------------------------------------------------------------------

    def _fill_bank_cash_dashboard_data(self, dashboard_data):
        super()._fill_bank_cash_dashboard_data(dashboard_data)
        self._sepa_fill_dashboard_data(dashboard_data)

    def _sepa_fill_dashboard_data(self, dashboard_data):
        """On the card of a bank journal that collects direct debits: its batches to
        generate and to send, and its money in transit (the Direct Debit overview's
        figures for this journal). Two grouped queries for all the journals; nothing for
        users outside the Direct Debit group."""
        journals = self.filtered(lambda journal: journal.type == "bank")
        if not journals or not self.env.user.has_group(SEPA_GROUP):
            return
        overview = self.env["sepa.overview"]
        batches = defaultdict(dict)
        for journal, state, count in self.env["sepa.batch"]._read_group(
                [*overview._company_domain(), ("journal_id", "in", journals.ids)],
                ["journal_id", "state"], ["__count"]):
            batches[journal.id][state] = count
        transit = {
            journal.id: (count, amount) for journal, count, amount in
            self.env["account.move.line"]._read_group(
                [*overview._transit_line_domain(), ("journal_id", "in", journals.ids)],
                ["journal_id"], ["move_id:count_distinct", "amount_residual:sum"])}
        for journal in journals:
            if journal.id not in batches:
                continue
            currency = journal.currency_id or journal.company_id.sudo().currency_id
            count, amount = transit.get(journal.id, (0, 0.0))
            dashboard_data[journal.id].update({
                "sepa_show": True,
                "sepa_to_generate": batches[journal.id].get("draft", 0),
                "sepa_to_send": batches[journal.id].get("generated", 0),
                "sepa_transit_count": count,
                "sepa_transit": currency.format(amount),
            })

    def action_sepa_dashboard_open(self):
        """A Direct Debit line of the journal's card: the batches of this journal to
        generate (``sepa_list`` draft), to send (generated) or in transit; without
        ``sepa_list`` the Direct Debit overview."""
        self.ensure_one()
        overview = self.env["sepa.overview"]
        what = self.env.context.get("sepa_list")
        lists = {
            "draft": (_("Batches to Generate"), overview._batch_domain(("draft",))),
            "generated": (_("Batches to Send"), overview._batch_domain(("generated",))),
            "transit": (_("Batches in Transit"), overview._transit_batch_domain()),
        }
        if what not in lists:
            return overview.action_open_overview()
        name, domain = lists[what]
        return overview._list_action(
            "sepa_direct_debit.action_sepa_batch", name, [*domain, ("journal_id", "=", self.id)])
