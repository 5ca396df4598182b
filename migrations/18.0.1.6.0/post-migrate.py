"""18.0.1.6.0: several creditor identifiers per company.

Every company with a creditor identifier gets one creditor (*Creditor Identifiers*) with
it, named as the company; all its mandates and batches belong to that creditor. One
statement for the mandates and one for the batches.
"""
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.company"].search([])._sepa_migrate_creditors()
