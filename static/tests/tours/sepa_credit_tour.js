/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openDirectDebitMenu } from "@sepa_direct_debit/../tests/tours/tour_utils";

// The month without any bank-import module, as a bookkeeper with the billing group only:
// propose, create the batch, generate the file, mark it as sent, then type in the bank's
// credit from the statement (Register Bank Credit): the batch is settled. The test
// (tests/test_credit_tour.py) creates two members with mandates and open invoices.
const proposalRow = (name) => `.modal .o_field_widget[name="line_ids"] .o_data_row:contains("${name}")`;
registry.category("web_tour.tours").add("sepa_credit_tour", {
    url: "/odoo",
    steps: () => [
        ...openDirectDebitMenu("Create a batch", "sepa_direct_debit.menu_sepa_batch_proposal"),
        {
            content: "Propose the invoices to collect",
            trigger: '.modal-footer button[name="action_propose"]:contains("Propose Invoices")',
            run: "click",
        },
        {
            content: "Both members are proposed",
            trigger: `.modal:has(${proposalRow("Credit Tour Member").slice(7)}) ${proposalRow("Credit Tour Second Member").slice(7)}`,
        },
        {
            content: "Create the batch",
            trigger: '.modal-footer button[name="action_create_batch"]',
            run: "click",
        },
        {
            content: "Generate the pain.008 file (it downloads)",
            trigger: '.o_form_view .o_form_statusbar button[name="action_generate"]:contains("Generate File")',
            run: "click",
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
            content: "The bank's statement shows the credit: register it",
            trigger: '.o_form_view:not(:has(.modal)) .o_form_statusbar button[name="action_open_bank_credit"]',
            run: "click",
        },
        {
            content: "The amount the bank owes is proposed",
            trigger: '.modal .o_field_widget[name="amount"] input:value("150.00")',
        },
        {
            content: "The bank's reference",
            trigger: '.modal .o_field_widget[name="bank_reference"] input',
            run: "edit BANK-CREDIT-TOUR-1",
        },
        {
            content: "Register the credit",
            trigger: '.modal-footer button[name="action_confirm"]',
            run: "click",
        },
        {
            content: "The batch is settled",
            trigger: '.o_form_view:not(:has(.modal)) .o_statusbar_status button[aria-checked="true"]:contains("Settled")',
        },
        {
            content: "No credit to register any more",
            trigger: '.o_form_view .o_form_statusbar:not(:has(button[name="action_open_bank_credit"]))',
        },
    ],
});
