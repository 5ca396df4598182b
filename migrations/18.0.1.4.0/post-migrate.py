"""18.0.1.4.0: an invoice whose failed debit was held says "On hold", no longer
"Failed" (held and undecided are told apart). The direct debit status of the invoices
whose last registered failed debit is held is written in one UPDATE (the status is
stored; nothing else changes with it).

The reasons' "Needs a New Account or Mandate" and "Account No Longer Valid" are filled
from the catalogue by the update itself (stored computed fields). Failed debits of before
this version have no debited IBAN: their retry is not refused for the account.
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute("""
        UPDATE account_move m SET sepa_state = 'on_hold'
          FROM (SELECT DISTINCT ON (r.invoice_id) r.invoice_id, s.release_state
                  FROM sepa_storno_invoice_rel r
                  JOIN sepa_storno s ON s.id = r.storno_id
                 WHERE s.state = 'done'
              ORDER BY r.invoice_id, s.date DESC, s.id DESC) last
         WHERE m.id = last.invoice_id AND last.release_state = 'hold'
           AND m.sepa_state = 'failed'
    """)
