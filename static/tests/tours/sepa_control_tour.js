/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openDirectDebitMenu } from "@sepa_direct_debit/../tests/tours/tour_utils";
import { rpc } from "@web/core/network/rpc";
import { inputFiles } from "@web/../tests/utils";

// The failure half of the monthly cycle as a user clicks it: open the sent batch, import
// the bank's return file (preview, then register), see the failed debits, control them
// after reconciliation (one held with a note, one retried, the rejected first debit
// retried and kept First), and check the next proposal.
// The test (tests/test_control_tour.py) prepares the sent batch of four debits and the
// camt.054 file, kept as the attachment "sepa_tour_returns.xml": the step that "chooses
// the file" reads it and drops it on the Binary field's file input, as a file dialog does.
const RETURN_FILE = "sepa_tour_returns.xml";
const batchRow = '.o_list_view .o_data_row:contains("Tour Control Bank")';
const controlRow = (name) => `.modal .o_field_widget[name="line_ids"] .o_data_row:contains("${name}")`;
const proposalRow = (name) => `.modal .o_field_widget[name="line_ids"] .o_data_row:contains("${name}")`;
const excludedRow = (name) => `.modal .o_field_widget[name="excluded_line_ids"] .o_data_row:contains("${name}")`;

async function chooseReturnFile() {
    const [attachment] = await rpc("/web/dataset/call_kw/ir.attachment/search_read", {
        model: "ir.attachment",
        method: "search_read",
        args: [[["name", "=", RETURN_FILE]], ["datas"]],
        kwargs: {},
    });
    const bytes = Uint8Array.from(atob(attachment.datas), (char) => char.charCodeAt(0));
    const file = new File([bytes], RETURN_FILE, { type: "application/xml" });
    await inputFiles('.modal .o_field_widget[name="data_file"] input.o_input_file', [file]);
}

registry.category("web_tour.tours").add("sepa_control_tour", {
    url: "/odoo",
    steps: () => [
        ...openDirectDebitMenu("Open the batches", "sepa_direct_debit.menu_sepa_batch"),
        {
            content: "Open the sent batch",
            trigger: `${batchRow}:contains("Sent") td[name="name"]`,
            run: "click",
        },
        {
            content: "The batch is sent; no failed debit to control yet",
            trigger: '.o_form_view .o_statusbar_status button[aria-checked="true"]:contains("Sent")',
        },
        {
            content: "No control button before the return file",
            trigger: '.o_form_view .o_form_statusbar:not(:has(button[name="action_open_control"]))',
        },
        {
            content: "Import the bank's return file",
            trigger: '.o_form_view .o_form_statusbar button:contains("Import Return File")',
            run: "click",
        },
        {
            content: "Choose the camt.054 file",
            trigger: '.modal .o_field_widget[name="data_file"]',
            run: chooseReturnFile,
        },
        {
            content: "The file is chosen",
            trigger: `.modal .o_field_widget[name="data_file"] input.o_input:value("${RETURN_FILE}")`,
        },
        {
            content: "Preview the file",
            trigger: '.modal-footer button[name="action_preview"]:contains("Preview")',
            run: "click",
        },
        {
            content: "The preview shows the three failed debits",
            trigger: '.modal .o_field_widget[name="match_count"]:contains("3")',
        },
        {
            content: "The rejected first debit is in the preview",
            trigger: '.modal .o_field_widget[name="match_line_ids"] .o_data_row:contains("Tour First Debtor"):contains("MS03")',
        },
        {
            content: "The returned debits are in the preview",
            trigger: '.modal .o_field_widget[name="match_line_ids"] .o_data_row:contains("Tour Held Debtor"):contains("MD06")',
        },
        {
            content: "Register the failed debits",
            trigger: '.modal-footer button[name="action_apply"]',
            run: "click",
        },
        {
            content: "The failed debits are listed: the first debit",
            trigger: '.o_list_view .o_data_row:contains("Tour First Debtor"):contains("To Release")',
        },
        {
            content: "The failed debits are listed: the held one and the retried one",
            trigger: '.o_list_view:has(.o_data_row:contains("Tour Held Debtor")) .o_data_row:contains("Tour Retried Debtor")',
        },
        {
            content: "Back to the batch",
            trigger: '.o_breadcrumb .breadcrumb-item a:contains("SDD-")',
            run: "click",
        },
        {
            content: "The batch counts its failed debits",
            trigger: '.o_form_view .o-form-buttonbox button[name="action_open_stornos"]:contains("3"):contains("Failed Debits")',
        },
        {
            content: "A failed line says why",
            trigger: '.o_form_view .o_field_widget[name="line_ids"] .o_data_row:contains("Tour First Debtor") td[name="failure_reason_id"]:contains("MS03")',
        },
        {
            content: "Control after reconciliation",
            trigger: '.o_form_view .o_form_statusbar button[name="action_open_control"]',
            run: "click",
        },
        {
            content: "The control says when to use it",
            trigger: '.modal .alert-info:contains("after the bank statement")',
        },
        {
            content: "The rejected first debit: retry, kept First, and why",
            trigger: `${controlRow("Tour First Debtor")}:contains("Retry"):contains("Rejected before settlement") td[name="sequence_type"]:contains("First")`,
        },
        {
            content: "The returned debit to retry: no sequence type to choose",
            trigger: `${controlRow("Tour Retried Debtor")}:contains("Retry") td[name="sequence_type"]:not(:contains("First")):not(:contains("Recurring"))`,
        },
        {
            content: "The refund the customer asked for warns before a retry",
            trigger: `${controlRow("Tour Held Debtor")}:contains("Retry") td[name="retry_warning"]:contains("asked for a refund")`,
        },
        {
            content: "Edit the status of the disputed debit",
            trigger: `${controlRow("Tour Held Debtor")} td[name="release"]`,
            run: "click",
        },
        {
            content: "Hold it",
            trigger: `${controlRow("Tour Held Debtor")} td[name="release"] select`,
            run: "selectByLabel Hold",
        },
        {
            content: "Say why",
            trigger: `${controlRow("Tour Held Debtor")} td[name="hold_note"] input`,
            run: "edit Customer disputes the invoice",
        },
        {
            content: "Leave the row",
            trigger: '.modal .o_field_widget[name="line_count"]',
            run: "click",
        },
        {
            content: "The held debit is red",
            trigger: `${controlRow("Tour Held Debtor")}.text-danger:contains("Customer disputes the invoice")`,
        },
        {
            content: "The counts follow the choices",
            trigger: '.modal .o_field_widget[name="hold_count"]:contains("1")',
        },
        {
            content: "Process",
            trigger: '.modal-footer button[name="action_process"]',
            run: "click",
        },
        {
            content: "The summary is shown",
            trigger: '.o_notification:contains("2 to retry, 1 held")',
        },
        {
            content: "The batch has no failed debit to control any more",
            trigger: '.o_form_view:not(:has(.modal)) .o_form_statusbar:not(:has(button[name="action_open_control"]))',
        },
        {
            content: "Open the Direct Debit menu",
            trigger: '.o_main_navbar [data-menu-xmlid="sepa_direct_debit.menu_sepa_direct_debit"]',
            run: "click",
        },
        {
            content: "Create the next batch",
            trigger: '.dropdown-item[data-menu-xmlid="sepa_direct_debit.menu_sepa_batch_proposal"]',
            run: "click",
        },
        {
            content: "Propose the invoices to collect",
            trigger: '.modal-footer button[name="action_propose"]:contains("Propose Invoices")',
            run: "click",
        },
        {
            content: "The retried first debit is proposed again as a first debit",
            trigger: `${proposalRow("Tour First Debtor")} td[name="sequence_type"]:contains("First")`,
        },
        {
            content: "The returned debit is retried as a recurring debit",
            trigger: `${proposalRow("Tour Retried Debtor")} td[name="sequence_type"]:contains("Recurring")`,
        },
        {
            content: "Look at the excluded invoices",
            trigger: '.modal .o_notebook a.nav-link:contains("Excluded")',
            run: "click",
        },
        {
            content: "The held invoice is excluded with its reason",
            trigger: `${excludedRow("Tour Held Debtor")}:contains("Customer disputes the invoice")`,
        },
        {
            content: "Close the proposal",
            trigger: '.modal-footer button:contains("Close")',
            run: "click",
        },
        {
            content: "The proposal is closed",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
