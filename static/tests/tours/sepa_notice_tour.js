/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openDirectDebitMenu } from "@sepa_direct_debit/../tests/tours/tour_utils";

// What the customer is told, as the bookkeeper checks it: on the batch, how many debits
// were pre-notified by e-mail and which customer had no e-mail address; in the control
// after reconciliation, the failed debit the re-presentation policy plans again after
// payday (column Planned Re-presentation) next to the one still to decide; on the
// customer portal (the invoice's Preview), the pre-notification printed on an invoice
// still to collect.
// The test (tests/test_notice_tour.py) prepares the sent batch of two debits, both
// failed (AM04 re-presented by the policy, MD06 to decide), and the open invoice.
const batchRow = '.o_list_view .o_data_row:contains("Tour Notice Bank")';
const controlRow = (name) => `.modal .o_field_widget[name="line_ids"] .o_data_row:contains("${name}")`;

registry.category("web_tour.tours").add("sepa_notice_tour", {
    url: "/odoo",
    steps: () => [
        ...openDirectDebitMenu("Open the batches", "sepa_direct_debit.menu_sepa_batch"),
        {
            content: "Open the sent batch",
            trigger: `${batchRow}:contains("Sent") td[name="name"]`,
            run: "click",
        },
        {
            content: "One debit pre-notified by e-mail",
            trigger: '.o_form_view .o_field_widget[name="notice_sent_count"]:contains("1")',
        },
        {
            content: "None still queued",
            trigger: '.o_form_view .o_field_widget[name="notice_queued_count"]:contains("0")',
        },
        {
            content: "None refused by the mail server",
            trigger: '.o_form_view .o_field_widget[name="notice_failed_count"]:contains("0")',
        },
        {
            content: "One customer without e-mail address",
            trigger: '.o_form_view .o_field_widget[name="notice_no_email_count"]:contains("1")',
        },
        {
            content: "List the debits not pre-notified",
            trigger: '.o_form_view .o-form-buttonbox button[name="action_open_notice_lines"]:contains("1"):contains("Not Pre-notified")',
            run: "click",
        },
        {
            content: "The customer without e-mail address is listed",
            trigger: '.o_list_view .o_data_row:contains("Piet Zonder Mail"):contains("No E-mail Address")',
        },
        {
            content: "Only that customer",
            trigger: '.o_list_view:not(:has(.o_data_row:contains("Jan de Vries")))',
        },
        {
            content: "Back to the batch",
            trigger: '.o_breadcrumb .breadcrumb-item a:contains("SDD-")',
            run: "click",
        },
        {
            content: "Control after reconciliation",
            trigger: '.o_form_view .o_form_statusbar button[name="action_open_control"]',
            run: "click",
        },
        {
            content: "The control has the column Planned Re-presentation",
            trigger: '.modal .o_field_widget[name="line_ids"] th[data-name="represent_date"]:contains("Planned Re-presentation")',
        },
        {
            content: "The debit failed for lack of funds is retried on its planned date",
            trigger: `${controlRow("Jan de Vries")}:contains("AM04") td[name="release"]:contains("Retry")`,
        },
        {
            content: "Its planned re-presentation date is shown",
            trigger: `${controlRow("Jan de Vries")} td[name="represent_date"]:contains("/")`,
        },
        {
            content: "The refunded debit has no planned re-presentation",
            trigger: `${controlRow("Piet Zonder Mail")}:contains("MD06") td[name="represent_date"]:not(:contains("/"))`,
        },
        {
            content: "Close the control without processing",
            trigger: '.modal-footer button:contains("Close")',
            run: "click",
        },
        {
            content: "The control is closed",
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Open the Customers menu",
            trigger: '.o_main_navbar [data-menu-xmlid="account.menu_finance_receivables"]',
            run: "click",
        },
        {
            content: "Open the invoices",
            trigger: '.dropdown-item[data-menu-xmlid="account.menu_action_move_out_invoice_type"]',
            run: "click",
        },
        {
            content: "Open the invoice still to collect",
            trigger: '.o_list_view .o_data_row:contains("Anna Jansen") td[name="invoice_partner_display_name"]',
            run: "click",
        },
        {
            content: "See it as the customer does",
            trigger: '.o_form_view button[name="preview_invoice"]',
            run: "click",
        },
        {
            content: "The customer portal shows the invoice",
            trigger: "iframe#invoice_html",
        },
        {
            content: "The invoice carries the pre-notification of its debit",
            trigger: ':iframe [name="sepa_notice"]:contains("will be debited from your account NL** **** **** **"):contains("creditor identifier NL69ZZZ123456780000")',
        },
    ],
});
