/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openDirectDebitMenu } from "@sepa_direct_debit/../tests/tours/tour_utils";

// The monthly cycle as a user clicks it: from the invoices to collect, propose (all on one
// date by default), collect all on a later date, move a debit to a date that is too late
// for the bank, shift it back, create the batch,
// generate the file (the form shows the next step without a reload), mark it as sent.
// The test (tests/test_batch_tour.py) creates a customer "Tour Batch Debtor" with an
// active mandate and an open invoice.
const instructionDate = luxon.DateTime.now().plus({ days: 40 }).toFormat("MM/dd/yyyy");
const today = luxon.DateTime.now().toFormat("MM/dd/yyyy");
const runDate = luxon.DateTime.now().plus({ days: 30 }).toFormat("MM/dd/yyyy");
const debtorRow = '.modal .o_field_widget[name="line_ids"] .o_data_row:contains("Tour Batch Debtor")';
registry.category("web_tour.tours").add("sepa_batch_tour", {
    url: "/odoo",
    steps: () => [
        ...openDirectDebitMenu("Open the invoices to collect", "sepa_direct_debit.menu_sepa_invoices_to_collect"),
        {
            content: "The invoice is to be collected",
            trigger: '.o_list_view .o_data_row:contains("Tour Batch Debtor"):contains("To collect")',
        },
        {
            content: "Open the Direct Debit menu again",
            trigger: '.o_main_navbar [data-menu-xmlid="sepa_direct_debit.menu_sepa_direct_debit"]',
            run: "click",
        },
        {
            content: "Create a batch",
            trigger: '.dropdown-item[data-menu-xmlid="sepa_direct_debit.menu_sepa_batch_proposal"]',
            run: "click",
        },
        {
            content: "Pick the instruction date",
            trigger: '.modal .o_field_widget[name="instruction_date"] input',
            run: `edit ${instructionDate} && press Enter`,
        },
        {
            content: "The instruction date is set",
            trigger: `.modal .o_field_widget[name="instruction_date"] input:value("${instructionDate}")`,
        },
        {
            content: "Propose the invoices to collect",
            trigger: '.modal-footer button[name="action_propose"]:contains("Propose Invoices")',
            run: "click",
        },
        {
            content: "The open invoice of the customer is proposed",
            trigger: debtorRow,
        },
        {
            content: "All invoices are collected on one date, amounts in euro",
            trigger: `.modal .o_field_widget[name="collect_on_one_date"] input:checked`,
        },
        {
            content: "The selected amount shows its currency",
            trigger: '.modal .o_field_widget[name="selected_amount"]:contains("€")',
        },
        {
            content: "The debit's amount shows its currency",
            trigger: `${debtorRow} td[name="amount"]:contains("€")`,
        },
        {
            content: "Collect all on a later date",
            trigger: '.modal .o_field_widget[name="one_collection_date"] input',
            run: `edit ${runDate} && press Enter`,
        },
        {
            content: "Apply the date to the invoices",
            trigger: '.modal button[name="action_apply_collection_date"]',
            run: "click",
        },
        {
            content: "The debit is collected on that date",
            trigger: `${debtorRow} td[name="collection_date"]:contains("${runDate}")`,
        },
        {
            content: "Edit its collection date",
            trigger: `${debtorRow} td[name="collection_date"]`,
            run: "click",
        },
        {
            content: "Collect it today: too late to deliver the file to the bank",
            trigger: `${debtorRow} .o_field_widget[name="collection_date"] input`,
            run: `edit ${today} && press Enter`,
        },
        {
            content: "Leave the row",
            trigger: '.modal .o_field_widget[name="selected_amount"]',
            run: "click",
        },
        {
            content: "The banner says the latest delivery date has passed; shift the debit",
            trigger: '.modal .alert-warning button[name="action_shift_dates"]',
            run: "click",
        },
        {
            content: "The debit is shifted: no banner, its deadline is not passed",
            trigger: `.modal .o_form_view:not(:has(.alert-warning)) ${debtorRow.slice(7)} td[name="latest_delivery_date"]:not(.text-danger)`,
        },
        {
            content: "Create the batch",
            trigger: '.modal-footer button[name="action_create_batch"]',
            run: "click",
        },
        {
            content: "The batch is a draft, in its own breadcrumb",
            trigger: '.o_breadcrumb:not(:contains("To Collect")):contains("SDD-")',
        },
        {
            content: "The batch is a draft and says when the bank needs the file",
            trigger: '.o_form_view:has(.o_field_widget[name="latest_delivery_date"]) .o_statusbar_status button[aria-checked="true"]:contains("Draft")',
        },
        {
            content: "Generate the pain.008 file (it downloads)",
            trigger: '.o_form_view .o_form_statusbar button[name="action_generate"]:contains("Generate File")',
            run: "click",
        },
        {
            content: "Without a reload, the form shows the generated file and the next step",
            trigger: '.o_form_view .o_statusbar_status button[aria-checked="true"]:contains("File Generated")',
        },
        {
            content: "Mark the batch as sent",
            trigger: '.o_form_view .o_form_statusbar button[name="action_send"]',
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer button.btn-primary",
            run: "click",
        },
        {
            content: "The batch is sent",
            trigger: '.o_form_view .o_statusbar_status button[aria-checked="true"]:contains("Sent")',
        },
    ],
});
