from odoo import models
from odoo.exceptions import UserError


class SepaCompanyCheckMixin(models.AbstractModel):
    """Odoo's company check, with an error that names no record of the other company.

    ``_check_company`` names the refused records (``'MDT-000042'`` of the other company,
    its customer, its invoice): a user of one company could read another company's
    mandate references and customers by trying ids. The error here names the model and
    the fields only.
    """

    _name = "sepa.company.check.mixin"
    _description = "SEPA Direct Debit Company Check"

    def _check_company(self, fnames=None):
        try:
            super()._check_company(fnames)
        except UserError:
            pass
        else:
            return
        checked = self._fields if fnames is None or "company_id" in fnames else fnames
        failing = []
        for fname in checked:
            field = self._fields[fname]
            if not (field.relational and field.check_company):
                continue
            try:
                super()._check_company([fname])
            except UserError:
                failing.append(field._description_string(self.env))
        raise UserError(self.env._(
            "%(model)s: %(fields)s of another company cannot be used here. Nothing was saved.",
            model=self._description, fields=", ".join(failing),
        )) from None
