from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDutchTranslation(TransactionCase):
    def test_dutch_terms_load(self):
        self.env["res.lang"]._activate_lang("nl_NL")
        self.env["ir.module.module"]._load_module_terms(["sepa_direct_debit"], ["nl_NL"])
        field = self.env["ir.model.fields"]._get("sepa.mandate", "name")
        self.assertEqual(field.with_context(lang="nl_NL").field_description, "Kenmerk machtiging")
        states = dict(self.env["sepa.mandate"].with_context(lang="nl_NL")._fields["state"]
                      ._description_selection(self.env(context={"lang": "nl_NL"})))
        self.assertEqual(states["draft"], "Te tekenen")
        menu = self.env.ref("sepa_direct_debit.menu_sepa_mandate")
        self.assertEqual(menu.with_context(lang="nl_NL").name, "Machtigingen")
