/** @odoo-module **/

import { registry } from "@web/core/registry";

// An administrator switches "Re-invoice Storno Fees to the Customer" on in the Settings
// (Invoicing), chooses the fee product and saves. The test
// (tests/test_settings_tour.py) creates the product "Tour Storno Fee" and checks the
// company afterwards.
const feeBox = '.o_field_widget[name="sepa_storno_fee_invoice"]';
const feeProduct = '.o_field_widget[name="sepa_storno_fee_product_id"]';
registry.category("web_tour.tours").add("sepa_fee_settings_tour", {
    url: "/odoo/action-account.action_account_config",
    steps: () => [
        {
            content: "Look for the storno fees",
            trigger: ".o-settings-form-view .o_searchview_input",
            run: "edit Re-invoice Storno Fees",
        },
        {
            content: "The option is off",
            trigger: `${feeBox} input:not(:checked)`,
        },
        {
            content: "Switch it on",
            trigger: `${feeBox} input`,
            run: "click",
        },
        {
            content: "Choose the fee product",
            trigger: `${feeProduct} input`,
            run: "edit Tour Storno Fee",
        },
        {
            content: "Pick it",
            trigger: '.o-autocomplete--dropdown-item:contains("Tour Storno Fee")',
            run: "click",
        },
        {
            content: "The product is chosen",
            trigger: `${feeProduct} input:value("Tour Storno Fee")`,
        },
        {
            content: "Save",
            trigger: ".o-settings-form-view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved: the option is on, with the product",
            trigger: `.o-settings-form-view:not(:has(.o_dirty_warning)):has(${feeBox} input:checked) ${feeProduct} input:value("Tour Storno Fee")`,
        },
    ],
});
