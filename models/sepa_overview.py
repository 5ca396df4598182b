"""Direct Debit overview: what the bookkeeper has to do this month, in figures.

A screen, not stored data: a transient record whose figures are computed when it is read,
for the companies the user works in (``env.companies``), one grouped query per figure.
Each figure's domain is a method, used by the figure and by the button opening its list,
so a figure always counts exactly the records its list shows.
"""

from dateutil.relativedelta import relativedelta
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.tools import format_date

from ..sepa.calendar import earliest_collection_date, latest_delivery_date, next_collection_day
from .sepa_mandate import EXPIRY_MONTHS

#: A mandate is "expiring" when it expires within this many months unless collected.
EXPIRY_WARNING_MONTHS = 3
#: The storno rate is shown for this many months, the current one included.
STORNO_RATE_MONTHS = 3


class SepaOverview(models.TransientModel):
    _name = "sepa.overview"
    _description = "Direct Debit Overview"
    # Kept for a working day: the screen stays open (and its buttons work) all day.
    _transient_max_hours = 24.0

    currency_id = fields.Many2one(
        "res.currency", compute="_compute_figures", help="Euro: direct debits are in euro.")
    # ==== Invoices to collect ====
    collect_count = fields.Integer(
        string="Invoices to Collect", compute="_compute_figures",
        help="Posted customer invoices a batch proposal would take now (status To collect).")
    collect_amount = fields.Monetary(
        string="Amount to Collect", compute="_compute_figures",
        help="What is still due on the invoices to collect.")
    collect_delivery_date = fields.Date(
        string="Next Deliver to the Bank By", compute="_compute_figures",
        help="The last day a file must reach the bank to collect the invoice due first on "
        "its due date (or on the company's collection day after it); today when that "
        "due date has passed.")
    # ==== Batches ====
    batch_draft_count = fields.Integer(
        string="Batches to Generate", compute="_compute_figures",
        help="Draft batches: generate their file.")
    batch_draft_amount = fields.Monetary(
        string="Amount of the Batches to Generate", compute="_compute_figures",
        help="Total of the draft batches.")
    batch_generated_count = fields.Integer(
        string="Batches to Send", compute="_compute_figures",
        help="Batches whose file is generated: deliver it to the bank and mark them sent.")
    batch_generated_amount = fields.Monetary(
        string="Amount of the Batches to Send", compute="_compute_figures",
        help="Total of the batches whose file is generated.")
    batch_delivery_date = fields.Date(
        string="Batches: Deliver to the Bank By", compute="_compute_figures",
        help="The earliest 'deliver to the bank by' date of the batches not sent yet.")
    batch_delivery_late = fields.Boolean(
        string="Delivery Date Reached", compute="_compute_figures",
        help="The earliest 'deliver to the bank by' date of a batch not sent is today or "
        "past.")
    # ==== In transit ====
    transit_count = fields.Integer(
        string="Batches in Transit", compute="_compute_figures",
        help="Sent batches the bank has not credited completely yet.")
    transit_amount = fields.Monetary(
        string="Money in Transit", compute="_compute_figures",
        help="What the bank still owes for the sent batches: their transit entries not "
        "reconciled with a bank credit or a failed debit yet.")
    # ==== Failed debits ====
    storno_count = fields.Integer(
        string="Failed Debits to Release", compute="_compute_figures",
        help="Registered failed debits whose invoices are neither retried nor held yet: "
        "decide in the Control after Reconciliation.")
    storno_amount = fields.Monetary(
        string="Amount of the Failed Debits", compute="_compute_figures",
        help="Total of the failed debits to release.")
    # ==== Storno rate ====
    rate_debit_count = fields.Integer(
        string="Debits (3 Months)", compute="_compute_figures",
        help="Debits of sent or settled batches collected this month and the two months "
        "before.")
    rate_storno_count = fields.Integer(
        string="Failed (3 Months)", compute="_compute_figures",
        help="Those debits that failed (registered failed debits).")
    storno_rate = fields.Float(
        string="Storno Rate (%)", compute="_compute_figures", digits=(16, 1),
        help="Failed debits per 100 debits collected this month and the two months before.")
    storno_rate_chart = fields.Html(
        string="Storno Rate per Month", compute="_compute_figures", sanitize_style=True,
        help="The storno rate of each of the last three months.")
    # ==== Mandates ====
    mandate_draft_count = fields.Integer(
        string="Mandates to Sign", compute="_compute_figures",
        help="Mandates waiting for the signed form: their customers' invoices are not "
        "collected until they are active.")
    mandate_expiring_count = fields.Integer(
        string="Mandates Expiring", compute="_compute_figures",
        help="Active recurring mandates that expire within three months (36 months "
        "without a debit) unless a debit is collected before.")

    # ------------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------------

    def _compute_display_name(self):
        self.display_name = _("Direct Debit Overview")  # also the breadcrumb's

    @api.depends_context("allowed_company_ids", "lang")
    def _compute_figures(self):
        values = {
            "currency_id": self.env.ref("base.EUR"),
            **self._collect_figures(),
            **self._batch_figures(),
            **self._transit_figures(),
            **self._storno_figures(),
            **self._storno_rate_figures(),
            **self._mandate_figures(),
        }
        for overview in self:
            overview.update(values)

    def _collect_figures(self):
        groups = self.env["account.move"]._read_group(
            self._collect_domain(), ["company_id"],
            ["__count", "amount_residual:sum", "invoice_date_due:min"])
        today = fields.Date.context_today(self)
        dates = [self._next_delivery_date(company, first_due, today)
                 for company, _count, _amount, first_due in groups]
        return {
            "collect_count": sum(group[1] for group in groups),
            "collect_amount": sum(group[2] for group in groups),
            "collect_delivery_date": min(dates, default=False),
        }

    @api.model
    def _next_delivery_date(self, company, first_due, today):
        """The 'deliver to the bank by' date of a file collecting ``company``'s invoice
        due first on ``first_due``: collected on its due date, the company's collection
        day on or after it, never earlier than a file delivered today allows."""
        lead = company.sepa_bank_lead_days
        collection = max(first_due or today,
                         earliest_collection_date(today, "CORE", bank_cutoff_days=lead))
        collection = next_collection_day(collection, company.sepa_collection_day)
        return max(latest_delivery_date(collection, "CORE", bank_lead_days=lead), today)

    def _batch_figures(self):
        groups = {state: (count, amount, deadline) for state, count, amount, deadline in
                  self.env["sepa.batch"]._read_group(
                      self._batch_domain(("draft", "generated")), ["state"],
                      ["__count", "amount_total:sum", "latest_delivery_date:min"])}
        draft = groups.get("draft", (0, 0.0, False))
        generated = groups.get("generated", (0, 0.0, False))
        deadlines = [day for day in (draft[2], generated[2]) if day]
        deadline = min(deadlines, default=False)
        return {
            "batch_draft_count": draft[0],
            "batch_draft_amount": draft[1],
            "batch_generated_count": generated[0],
            "batch_generated_amount": generated[1],
            "batch_delivery_date": deadline,
            "batch_delivery_late": bool(
                deadline and deadline <= fields.Date.context_today(self)),
        }

    def _transit_figures(self):
        [(count, amount)] = self.env["account.move.line"]._read_group(
            self._transit_line_domain(), [], ["move_id:count_distinct", "amount_residual:sum"])
        return {"transit_count": count, "transit_amount": amount or 0.0}

    def _storno_figures(self):
        [(count, amount)] = self.env["sepa.storno"]._read_group(
            self._storno_domain(), [], ["__count", "amount:sum"])
        return {"storno_count": count, "storno_amount": amount or 0.0}

    def _storno_rate_figures(self):
        first_month = self._rate_first_month()
        groups = dict(
            (month, (debits, stornos)) for month, debits, stornos in
            self.env["sepa.storno.report"]._read_group(
                self._rate_domain(), ["date:month"],
                ["debit_count:sum", "storno_count:sum"]))
        months = [first_month + relativedelta(months=n) for n in range(STORNO_RATE_MONTHS)]
        rows = [(month, *groups.get(month, (0, 0))) for month in months]
        debits = sum(row[1] for row in rows)
        stornos = sum(row[2] for row in rows)
        return {
            "rate_debit_count": debits,
            "rate_storno_count": stornos,
            "storno_rate": debits and 100.0 * stornos / debits,
            "storno_rate_chart": self._rate_chart(rows),
        }

    def _rate_chart(self, rows):
        """A small bar chart: one bar per month, its length the storno rate (scaled to
        the highest month; an empty bar at 0 %)."""
        rates = [debits and 100.0 * stornos / debits for _month, debits, stornos in rows]
        top = max(rates, default=0.0) or 1.0
        bars = []
        for (month, debits, stornos), rate in zip(rows, rates, strict=True):
            shown = "%.1f" % rate
            label = _("%(rate)s %% (%(stornos)s of %(debits)s debits)",
                      rate=shown, stornos=stornos, debits=debits)
            bars.append(Markup(
                '<tr><td class="pe-2 text-nowrap">%s</td>'
                '<td class="w-100"><div class="bg-danger" style="height: 1em; width: %s%%;">'
                '</div></td><td class="ps-2 text-nowrap">%s</td></tr>') % (
                format_date(self.env, month, date_format="MMM yyyy"),
                f"{100.0 * rate / top:.0f}", escape(label)))
        return Markup('<table class="table table-sm table-borderless mb-0">%s</table>') % (
            Markup("").join(bars))

    def _mandate_figures(self):
        Mandate = self.env["sepa.mandate"]
        return {
            "mandate_draft_count": Mandate.search_count(self._mandate_draft_domain()),
            "mandate_expiring_count": Mandate.search_count(self._mandate_expiring_domain()),
        }

    # ------------------------------------------------------------------
    # HELPERS: the domain of each figure (its button's list shows the same)
    # ------------------------------------------------------------------

    def _company_domain(self):
        return [("company_id", "in", self.env.companies.ids)]

    def _collect_domain(self):
        return [*self._company_domain(), ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"), ("sepa_state", "=", "to_collect")]

    def _batch_domain(self, states):
        return [*self._company_domain(), ("state", "in", list(states))]

    def _transit_line_domain(self):
        """The open transit lines of the sent batches: the debit lines of their entries
        that are not an invoice's credit."""
        return [*self._company_domain(), ("parent_state", "=", "posted"),
                ("move_id.sepa_batch_id.state", "=", "sent"),
                ("sepa_batch_line_id", "=", False), ("balance", ">", 0),
                ("reconciled", "=", False)]

    def _transit_batch_domain(self):
        return [*self._company_domain(), ("state", "=", "sent"),
                ("move_id.line_ids", "any", self._transit_line_domain())]

    def _storno_domain(self):
        return [*self._company_domain(), ("state", "=", "done"),
                ("release_state", "=", "none")]

    def _rate_first_month(self):
        today = fields.Date.context_today(self)
        return today.replace(day=1) - relativedelta(months=STORNO_RATE_MONTHS - 1)

    def _rate_domain(self):
        first = self._rate_first_month()
        end = first + relativedelta(months=STORNO_RATE_MONTHS)
        return [*self._company_domain(), ("date", ">=", fields.Date.to_string(first)),
                ("date", "<", fields.Date.to_string(end))]

    def _mandate_draft_domain(self):
        return [*self._company_domain(), ("state", "=", "draft")]

    def _mandate_expiring_domain(self):
        limit = fields.Date.to_string(fields.Date.context_today(self) - relativedelta(
            months=EXPIRY_MONTHS - EXPIRY_WARNING_MONTHS))
        return [*self._company_domain(), ("state", "=", "active"),
                ("mandate_type", "=", "recurring"),
                "|", ("last_debit_date", "<", limit),
                "&", ("last_debit_date", "=", False), ("signature_date", "<", limit)]

    def _list_action(self, xml_id, name, domain, **values):
        """``xml_id``'s window action on exactly ``domain`` (its default filters off)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(xml_id)
        # display_name: the title the web client shows (before name)
        action.update({"name": name, "display_name": name, "domain": domain, "context": {},
                       "target": "current"})
        action.pop("path", None)
        action.update(values)
        return action

    # ------------------------------------------------------------------
    # PUBLIC ACTIONS
    # ------------------------------------------------------------------

    @api.model
    def action_open_overview(self):
        """The menu's action: a fresh overview of the companies the user works in."""
        overview = self.create({})
        return {
            "type": "ir.actions.act_window",
            "name": _("Direct Debit Overview"),
            "res_model": self._name,
            "res_id": overview.id,
            "view_mode": "form",
            "views": [(self.env.ref("sepa_direct_debit.view_sepa_overview_form").id, "form")],
            "target": "current",
        }

    def action_refresh(self):
        return self.action_open_overview()

    def action_open_collect(self):
        return self._list_action(
            "sepa_direct_debit.action_sepa_invoices_to_collect", _("Invoices to Collect"),
            self._collect_domain())

    def action_open_batches_to_generate(self):
        return self._list_action(
            "sepa_direct_debit.action_sepa_batch", _("Batches to Generate"),
            self._batch_domain(("draft",)))

    def action_open_batches_to_send(self):
        return self._list_action(
            "sepa_direct_debit.action_sepa_batch", _("Batches to Send"),
            self._batch_domain(("generated",)))

    def action_open_transit(self):
        return self._list_action(
            "sepa_direct_debit.action_sepa_batch", _("Batches in Transit"),
            self._transit_batch_domain())

    def action_open_stornos(self):
        return self._list_action(
            "sepa_direct_debit.action_sepa_storno", _("Failed Debits to Release"),
            self._storno_domain())

    def action_open_storno_rate(self):
        return self._list_action(
            "sepa_direct_debit.action_sepa_storno_report", _("Storno Rate per Month"),
            self._rate_domain(), view_mode="graph,pivot",
            views=[(self.env.ref("sepa_direct_debit.view_sepa_storno_report_graph").id,
                    "graph"), (False, "pivot")],
            context={"graph_measure": "storno_rate", "graph_mode": "bar",
                     "graph_groupbys": ["date:month"]})

    def action_open_mandates_to_sign(self):
        return self._list_action(
            "sepa_direct_debit.action_sepa_mandate", _("Mandates to Sign"),
            self._mandate_draft_domain())

    def action_open_mandates_expiring(self):
        return self._list_action(
            "sepa_direct_debit.action_sepa_mandate", _("Mandates Expiring"),
            self._mandate_expiring_domain())

    def action_create_batch(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "sepa_direct_debit.action_sepa_batch_proposal")
