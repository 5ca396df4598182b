"""18.0.1.3.0: fill the return reasons' ``fault`` (whose failure: the debtor's, the
creditor's or the bank's) from the catalogue.

The reasons are shipped with ``noupdate``: an update of the addon does not write the new
field on existing records, so every code of the catalogue gets its fault here (the
creditor's and the bank's with 0 default points, as shipped). Codes created as unknown
before the catalogue had them get the catalogue's values. Codes not in the catalogue
(proprietary) stay the debtor's, with their points, as before.

The mandates' stored storno score is computed again from their event log (the score is
no longer a running total).
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    fill_faults(env)
    recompute_scores(env)


def recompute_scores(env):
    env.cr.execute("SELECT DISTINCT mandate_id FROM sepa_storno_event")
    env["sepa.mandate"]._compute_storno_scores([row[0] for row in env.cr.fetchall()])


def fill_faults(env):
    from odoo.addons.sepa_direct_debit.sepa.reasons import CATALOGUE

    Reason = env["sepa.return.reason"].with_context(active_test=False)
    for reason in Reason.search([("code", "in", list(CATALOGUE))]):
        entry = CATALOGUE[reason.code]
        vals = {"fault": entry.fault}
        if entry.fault != "debtor":
            vals["points"] = 0
        if not reason.known:  # met in a file before the catalogue had it
            vals.update({key: value for key, value in Reason._unknown_vals(reason.code).items()
                         if key != "code"})
        reason.write(vals)
