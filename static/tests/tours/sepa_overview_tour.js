/** @odoo-module **/

import { registry } from "@web/core/registry";

// A billing user opens Direct Debit → Overview: one mandate to sign, opened with one
// click on its figure, and back to the overview. The test (tests/test_dd_overview.py)
// makes one mandate to sign, TOUR-SIGN-1.
registry.category("web_tour.tours").add("sepa_overview_tour", {
    steps: () => [
        {
            content: "The overview shows one mandate to sign",
            trigger: '.o_sepa_overview button[name="action_open_mandates_to_sign"] .o_field_widget:contains("1")',
            run: "click",
        },
        {
            content: "Its list shows that mandate",
            trigger: '.o_list_view .o_data_row:contains("TOUR-SIGN-1")',
        },
        {
            content: "Back to the overview",
            trigger: '.o_breadcrumb a:contains("Direct Debit Overview")',
            run: "click",
        },
        {
            content: "The storno rate of the last three months is drawn",
            trigger: '.o_sepa_overview .o_field_widget[name="storno_rate_chart"] table tr:nth-child(3)',
        },
    ],
});

// The card of the bank journal collecting direct debits on the Accounting dashboard:
// its draft batch, opened with one click. The test makes one draft batch on the journal
// "Tour Direct Debit Bank".
registry.category("web_tour.tours").add("sepa_journal_card_tour", {
    steps: () => [
        {
            content: "The bank journal's card shows the batch to generate",
            trigger: '.o_kanban_record:contains("Tour Direct Debit Bank") a[name="action_sepa_dashboard_open"]:contains("Direct Debit Batches to Generate")',
            run: "click",
        },
        {
            content: "Its list shows that draft batch",
            trigger: '.o_list_view .o_data_row:contains("Draft")',
        },
    ],
});
