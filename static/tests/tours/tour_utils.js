/** @odoo-module **/

// Steps the tours share: from the home screen to one item of the Direct Debit menu.

/**
 * @param {string} content what the last step opens, e.g. "Open Mandates"
 * @param {string} menu the XML id of the Direct Debit menu item
 */
export function openDirectDebitMenu(content, menu) {
    return [
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
            content,
            trigger: `.dropdown-item[data-menu-xmlid="${menu}"]`,
            run: "click",
        },
    ];
}
