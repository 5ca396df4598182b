"""18.0.1.1.0: the sequence type (FRST/RCUR) of a mandate's next debit is derived from
its debit history instead of stored and flipped by settlement.

Every mandate keeps the type of its next debit: where the history says otherwise than
the stored value (a mandate made Recurring by hand or by an import, one reactivated
after settled debits, one whose reject was cancelled), the stored value becomes the
mandate's override, which the next settled debit clears as it would have flipped the
stored value. Registered stornos get their ``after_settlement`` mark from their entry.
The stored column is dropped.
"""

from collections import defaultdict

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    mark_stornos_after_settlement(env)
    keep_sequence_types(env)


def mark_stornos_after_settlement(env):
    """A registered storno failed after settlement unless it is a reject booked against
    its batch's transit (the bank's credit still open, see ``book_stornos``)."""
    env.cr.execute("""
        UPDATE sepa_storno s
           SET after_settlement = NOT (s.kind = 'reject' AND EXISTS (
               SELECT FROM account_move_line c
                 JOIN account_partial_reconcile p ON p.credit_move_id = c.id
                 JOIN account_move_line d ON d.id = p.debit_move_id
                 JOIN sepa_batch b ON b.id = s.batch_id
                WHERE c.sepa_storno_id = s.id AND c.move_id = s.move_id
                  AND d.move_id = b.move_id AND d.sepa_batch_line_id IS NULL))
         WHERE s.state = 'done' AND s.batch_line_id IS NOT NULL
    """)
    env["sepa.storno"].invalidate_model(["after_settlement"])


def keep_sequence_types(env):
    cr = env.cr
    cr.execute("""SELECT 1 FROM information_schema.columns
                   WHERE table_name = 'sepa_mandate' AND column_name = 'sequence_type'""")
    if not cr.fetchone():
        return
    cr.execute("""SELECT id, sequence_type FROM sepa_mandate
                   WHERE mandate_type = 'recurring' AND sequence_type_override IS NULL
                     AND sequence_type IN ('first', 'recurring')""")
    stored = dict(cr.fetchall())
    derived = env["sepa.mandate"]._sepa_next_sequence_types(stored, override=False)
    overrides = defaultdict(list)
    for mandate_id, value in stored.items():
        if derived.get(mandate_id) != value:
            overrides[value].append(mandate_id)
    for value, ids in overrides.items():
        # in SQL: no tracking message on thousands of mandates for an unchanged value
        env.execute_query(SQL(
            "UPDATE sepa_mandate SET sequence_type_override = %s WHERE id = ANY(%s)",
            value, ids))
    cr.execute("ALTER TABLE sepa_mandate DROP COLUMN sequence_type")
    env["sepa.mandate"].invalidate_model(["sequence_type_override", "sequence_type"])
