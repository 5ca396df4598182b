/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openDirectDebitMenu } from "@sepa_direct_debit/../tests/tours/tour_utils";

// Moving in, as a billing user (tests/test_moving_in_tour.py makes the customers): the
// mandates of the previous package through Odoo's import dialog (gear menu, Import
// records), filled from the downloaded template; the Test names the bad IBAN by row and
// column; the corrected file is imported. Then Convert Customers gives the customer
// marked "Collect by Direct Debit" without a mandate an active converted mandate (the
// customer imported with a mandate to sign is taken out of the list).

/** ``days`` days ago, as the file has it (ISO) and as the user types it (MM/DD/YYYY). */
function daysAgo(days) {
    const date = new Date(Date.now() - days * 86400000);
    const pad = (number) => String(number).padStart(2, "0");
    const [year, month, day] = [date.getFullYear(), pad(date.getMonth() + 1), pad(date.getDate())];
    return { iso: `${year}-${month}-${day}`, typed: `${month}/${day}/${year}` };
}

/** The template's header with two rows: one collected before, one new mandate to sign. */
async function mandatesFile(iban) {
    const link = document.querySelector('.o_import_action a[href$="sepa_mandate_import.csv"]');
    const template = await (await fetch(link.href)).text();
    const header = template.split("\n")[0];
    return [
        header,
        `MV-001,,${iban},,TOUR-MV-1,2015-05-01,Recurring,CORE,,${daysAgo(30).iso},yes`,
        "MV-002,,NL36INGB0007654321,,TOUR-MV-2,,Recurring,CORE,,,no",
    ].join("\n");
}

function upload(content) {
    const input = document.querySelector(".o_control_panel input.o_input_file");
    const transfer = new DataTransfer();
    transfer.items.add(new File([content], "mandates.csv", { type: "text/csv" }));
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
}

let template = "";

registry.category("web_tour.tours").add("sepa_moving_in_tour", {
    url: "/odoo",
    steps: () => [
        ...openDirectDebitMenu("Open the mandates", "sepa_direct_debit.menu_sepa_mandate"),
        {
            content: "Open the gear menu",
            trigger: ".o_control_panel .o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            content: "Import records",
            trigger: ".o_import_menu",
            run: "click",
        },
        {
            content: "The template is offered: fill it, with an IBAN mistyped, and upload it",
            trigger: '.o_import_action a[href$="sepa_mandate_import.csv"]:contains("Import Template for SEPA Mandates")',
            async run() {
                template = await mandatesFile("NL02ABNA0123456788");
                upload(template);
            },
        },
        {
            content: "Every column is matched",
            trigger: ".o_import_data_content tbody:not(:has(.text-warning))",
        },
        {
            content: "Test the file",
            trigger: '.o_control_panel button:contains("Test")',
            run: "click",
        },
        {
            content: "The mistyped IBAN is named by its row and column",
            trigger: '.o_import_data_content .alert-danger:contains("Row 2, IBAN: NL02ABNA0123456788 is not a valid IBAN")',
        },
        {
            content: "Correct the IBAN and load the file again",
            trigger: '.o_control_panel button:contains("Load Data File")',
            run() {
                upload(template.replace("NL02ABNA0123456788", "NL02ABNA0123456789"));
            },
        },
        {
            content: "The errors of the first file are gone",
            trigger: ".o_import_action:not(:has(.alert-danger)) .o_import_data_content table",
        },
        {
            content: "Test again",
            trigger: '.o_control_panel button:contains("Test")',
            run: "click",
        },
        {
            content: "Everything is valid",
            trigger: '.o_import_data_content .alert-info:contains("Everything seems valid")',
        },
        {
            content: "Import",
            trigger: '.o_control_panel button.btn-primary:contains("Import")',
            run: "click",
        },
        {
            content: "Back on the mandates, the imported ones are listed",
            trigger: '.o_list_view .o_data_row:contains("TOUR-MV-1")',
        },
        {
            content: "Open the Direct Debit menu",
            trigger: '.o_main_navbar [data-menu-xmlid="sepa_direct_debit.menu_sepa_direct_debit"]',
            run: "click",
        },
        {
            content: "Convert Customers",
            trigger: '.dropdown-item[data-menu-xmlid="sepa_direct_debit.menu_sepa_mandate_conversion"]',
            run: "click",
        },
        {
            content: "The customer marked without a mandate is proposed",
            trigger: '.modal .o_field_widget[name="partner_ids"] .o_data_row:contains("Moving In Three")',
        },
        {
            content: "The customer just imported with a mandate to sign is proposed too: take it out",
            trigger: '.modal .o_field_widget[name="partner_ids"] .o_data_row:contains("Moving In Two") .o_list_record_remove',
            run: "click",
        },
        {
            content: "Collected before: the last collection date",
            trigger: '.modal .o_field_widget[name="last_collection_date"] input',
            async run(helpers) {
                await helpers.edit(daysAgo(20).typed);
            },
        },
        {
            content: "Keep the customers' references, with a prefix",
            trigger: '.modal .o_field_widget[name="reference_source"] input[data-value="customer"]',
            run: "click",
        },
        {
            content: "The prefix",
            trigger: '.modal .o_field_widget[name="reference_prefix"] input',
            run: "edit TOUR-",
        },
        {
            content: "The preview counts one converted mandate",
            trigger: '.modal .o_field_widget[name="preview"]:contains("Customers getting an active converted mandate (next debit Recurring): 1")',
        },
        {
            content: "Create the mandates",
            trigger: '.modal-footer button[name="action_convert"]',
            run: "click",
        },
        {
            content: "The converted mandates are shown under their own title",
            trigger: '.o_control_panel .o_breadcrumb:contains("Converted Mandates")',
        },
        {
            content: "The converted mandate",
            trigger: '.o_list_view .o_data_row:contains("TOUR-MV-003")',
        },
    ],
});
