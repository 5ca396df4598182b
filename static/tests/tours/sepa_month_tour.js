/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openDirectDebitMenu } from "@sepa_direct_debit/../tests/tours/tour_utils";
import { rpc } from "@web/core/network/rpc";
import { inputFiles } from "@web/../tests/utils";

// The bookkeeper's whole month, in three tours that tests/oca/test_month_tour.py runs one
// after the other (the test builds the bank's statement of the batch in between):
//   1. sepa_month_send_tour (the bookkeeper, billing group only): propose, create the
//      batch, generate the file, mark it as sent;
//   2. sepa_month_statement_tour (a user with "Show Full Accounting Features": Odoo and
//      OCA give the statement import to accountants only): import the bank's camt.053
//      through OCA's import wizard (the batch's credit and two returns);
//   3. sepa_month_control_tour (the bookkeeper): the batch is settled, its failed debits
//      listed, the control after reconciliation (the AC04 one pre-filled Hold, a note
//      added), the next month's batch proposed and created.
// Members: "Month Paid Member", "Month Retried Member" (AM04), "Month Closed Account
// Member" (AC04), "Month Second Paid Member", "Month Third Paid Member".
const STATEMENT_FILE = "sepa_month_statement.xml";
const proposalRow = (name) => `.modal .o_field_widget[name="line_ids"] .o_data_row:contains("${name}")`;
const excludedRow = (name) => `.modal .o_field_widget[name="excluded_line_ids"] .o_data_row:contains("${name}")`;
const controlRow = (name) => `.modal .o_field_widget[name="line_ids"] .o_data_row:contains("${name}")`;
const batchRow = '.o_list_view .o_data_row:contains("Month Direct Debit Bank")';
const MEMBERS = [
    "Month Paid Member",
    "Month Retried Member",
    "Month Closed Account Member",
    "Month Second Paid Member",
    "Month Third Paid Member",
];

function openDirectDebitItem(content, menu) {
    return [
        {
            content: "Open the Direct Debit menu",
            trigger: '.o_main_navbar [data-menu-xmlid="sepa_direct_debit.menu_sepa_direct_debit"]',
            run: "click",
        },
        {
            content,
            trigger: `.dropdown-item[data-menu-xmlid="${menu}"]`,
            run: "click",
        },
    ];
}

async function chooseStatementFile() {
    const [attachment] = await rpc("/web/dataset/call_kw/ir.attachment/search_read", {
        model: "ir.attachment",
        method: "search_read",
        args: [[["name", "=", STATEMENT_FILE]], ["datas"]],
        kwargs: {},
    });
    const bytes = Uint8Array.from(atob(attachment.datas), (char) => char.charCodeAt(0));
    const file = new File([bytes], STATEMENT_FILE, { type: "application/xml" });
    await inputFiles('.modal .o_field_widget[name="statement_file"] input.o_input_file', [file]);
}

registry.category("web_tour.tours").add("sepa_month_send_tour", {
    url: "/odoo",
    steps: () => [
        ...openDirectDebitMenu("Open the invoices to collect", "sepa_direct_debit.menu_sepa_invoices_to_collect"),
        ...MEMBERS.map((name) => ({
            content: `The membership fee of ${name} is to be collected`,
            trigger: `.o_list_view .o_data_row:contains("${name}"):contains("To collect")`,
        })),
        ...openDirectDebitItem("Create a batch", "sepa_direct_debit.menu_sepa_batch_proposal"),
        {
            content: "The proposal collects all on one date: the bank credits once",
            trigger: '.modal .o_field_widget[name="collect_on_one_date"] input:checked',
        },
        {
            content: "The date is proposed",
            trigger: '.modal .o_field_widget[name="one_collection_date"] input',
        },
        {
            content: "Propose the invoices to collect",
            trigger: '.modal-footer button[name="action_propose"]:contains("Propose Invoices")',
            run: "click",
        },
        ...MEMBERS.map((name) => ({
            content: `${name} is proposed`,
            trigger: proposalRow(name),
        })),
        {
            content: "Create the batch",
            trigger: '.modal-footer button[name="action_create_batch"]',
            run: "click",
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
            content: "The file is generated",
            trigger: '.o_form_view .o_statusbar_status button[aria-checked="true"]:contains("File Generated")',
        },
        {
            content: "Upload it to the bank, then mark the batch as sent",
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
            trigger: '.o_form_view:not(:has(.modal)) .o_statusbar_status button[aria-checked="true"]:contains("Sent")',
        },
    ],
});

registry.category("web_tour.tours").add("sepa_month_statement_tour", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open the Invoicing app",
            trigger: '.o_app[data-menu-xmlid="account.menu_finance"]',
            run: "click",
        },
        {
            content: "Open the Accounting menu",
            trigger: '.o_main_navbar [data-menu-xmlid="account.menu_finance_entries"]',
            run: "click",
        },
        {
            content: "Import a statement (OCA)",
            trigger: '.dropdown-item[data-menu-xmlid="account_statement_import_file.account_statement_import_menu"]',
            run: "click",
        },
        {
            content: "Choose the bank's camt.053 file",
            trigger: '.modal .o_field_widget[name="statement_file"]',
            run: chooseStatementFile,
        },
        {
            content: "The file is chosen",
            trigger: `.modal .o_field_widget[name="statement_file"] input.o_input:value("${STATEMENT_FILE}")`,
        },
        {
            content: "Import",
            trigger: '.modal-footer button[name="import_file_button"]',
            run: "click",
        },
        {
            content: "The statement is imported",
            trigger: 'body:not(:has(.modal)) .o_list_view .o_data_row:contains("MONTH-STMT-1")',
        },
    ],
});

registry.category("web_tour.tours").add("sepa_month_control_tour", {
    url: "/odoo",
    steps: () => [
        ...openDirectDebitMenu("Open the batches", "sepa_direct_debit.menu_sepa_batch"),
        {
            content: "The batch is settled: open it",
            trigger: `${batchRow}:contains("Settled") td[name="name"]`,
            run: "click",
        },
        {
            content: "The batch is settled",
            trigger: '.o_form_view .o_statusbar_status button[aria-checked="true"]:contains("Settled")',
        },
        {
            content: "The returned debits say why",
            trigger: '.o_form_view .o_field_widget[name="line_ids"] .o_data_row:contains("Month Closed Account Member") td[name="failure_reason_id"]:contains("AC04")',
        },
        {
            content: "Open the failed debits",
            trigger: '.o_form_view .o-form-buttonbox button[name="action_open_stornos"]:contains("2"):contains("Failed Debits")',
            run: "click",
        },
        {
            content: "The failed debits: insufficient funds (AM04)",
            trigger: '.o_list_view .o_data_row:contains("Month Retried Member"):contains("AM04"):contains("To Release")',
        },
        {
            content: "The failed debits: account closed (AC04)",
            trigger: '.o_list_view .o_data_row:contains("Month Closed Account Member"):contains("AC04"):contains("To Release")',
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
            content: "The returned debit for insufficient funds is pre-filled Retry",
            trigger: `${controlRow("Month Retried Member")} td[name="release"]:contains("Retry")`,
        },
        {
            content: "The closed account is pre-filled Hold: it needs a new account",
            trigger: `${controlRow("Month Closed Account Member")}:contains("Needs a new account or mandate (AC04)") td[name="release"]:contains("Hold")`,
        },
        {
            content: "Edit the note of the held debit",
            trigger: `${controlRow("Month Closed Account Member")} td[name="hold_note"]`,
            run: "click",
        },
        {
            content: "Say what was done",
            trigger: `${controlRow("Month Closed Account Member")} td[name="hold_note"] input`,
            run: "edit Needs a new account or mandate (AC04): Member asked for a new IBAN",
        },
        {
            content: "Leave the row",
            trigger: '.modal .o_field_widget[name="line_count"]',
            run: "click",
        },
        {
            content: "The held debit keeps its note",
            trigger: `${controlRow("Month Closed Account Member")}:contains("Member asked for a new IBAN")`,
        },
        {
            content: "One held, one to retry",
            trigger: '.modal .o_field_widget[name="hold_count"]:contains("1")',
        },
        {
            content: "Process",
            trigger: '.modal-footer button[name="action_process"]',
            run: "click",
        },
        {
            content: "The summary is shown",
            trigger: '.o_notification:contains("1 to retry, 1 held")',
        },
        {
            content: "The batch has no failed debit to control any more",
            trigger: '.o_form_view:not(:has(.modal)) .o_form_statusbar:not(:has(button[name="action_open_control"]))',
        },
        ...openDirectDebitItem("Next month: create the next batch", "sepa_direct_debit.menu_sepa_batch_proposal"),
        {
            content: "Propose the invoices to collect",
            trigger: '.modal-footer button[name="action_propose"]:contains("Propose Invoices")',
            run: "click",
        },
        {
            content: "The debit returned for insufficient funds is proposed again",
            trigger: `${proposalRow("Month Retried Member")} td[name="sequence_type"]:contains("Recurring")`,
        },
        {
            content: "Only that one",
            trigger: `.modal .o_field_widget[name="line_ids"]:not(:has(.o_data_row:contains("Month Closed Account Member"))):not(:has(.o_data_row:contains("Paid Member")))`,
        },
        {
            content: "Look at the excluded invoices",
            trigger: '.modal .o_notebook a.nav-link:contains("Excluded")',
            run: "click",
        },
        {
            content: "The held invoice is excluded with its note",
            trigger: `${excludedRow("Month Closed Account Member")}:contains("Member asked for a new IBAN")`,
        },
        {
            content: "Create the next batch",
            trigger: '.modal-footer button[name="action_create_batch"]',
            run: "click",
        },
        {
            content: "The next batch is a draft",
            trigger: '.o_form_view:not(:has(.modal)) .o_statusbar_status button[aria-checked="true"]:contains("Draft")',
        },
        {
            content: "It collects the returned debit again",
            trigger: '.o_form_view .o_field_widget[name="line_ids"] .o_data_row:contains("Month Retried Member")',
        },
    ],
});
