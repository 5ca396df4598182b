/** @odoo-module **/

import { registry } from "@web/core/registry";

// The monthly cycle as a user clicks it: propose, create the batch, generate the file,
// mark it as sent. The test (tests/test_batch_tour.py) creates a customer "Tour Batch
// Debtor" with an active mandate and an open invoice.
const instructionDate = luxon.DateTime.now().plus({ days: 40 }).toFormat("MM/dd/yyyy");

registry.category("web_tour.tours").add("sepa_batch_tour", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open the Invoicing / Accounting app",
            trigger: '.o_app[data-menu-xmlid="account.menu_finance"]',
            run: "click",
        },
        {
            content: "Open the Direct Debit menu",
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
            trigger: '.modal .o_field_widget[name="line_ids"] .o_data_row:contains("Tour Batch Debtor")',
        },
        {
            content: "Create the batch",
            trigger: '.modal-footer button[name="action_create_batch"]',
            run: "click",
        },
        {
            content: "The batch is a draft",
            trigger: '.o_form_view .o_statusbar_status button[aria-checked="true"]:contains("Draft")',
        },
        {
            content: "Generate the pain.008 file",
            trigger: '.o_form_view .o_form_statusbar button[name="action_generate"]:contains("Generate File")',
            run: "click",
        },
        {
            // The button offers the file as a download, which does not reload the form:
            // once the buttons are enabled again (generation done), reload the page.
            content: "Wait for the file, then reload the batch",
            trigger: '.o_form_view .o_form_statusbar button[name="action_generate"]:contains("Generate File")',
            run() {
                window.location.reload();
            },
        },
        {
            content: "The file is generated",
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
