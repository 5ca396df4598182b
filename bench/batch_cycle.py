"""Benchmark of the monthly collection cycle in a real Odoo database.

Run with ``make bench-batch N=10000`` (it creates a fresh database ``sepa_dd_bench``
with the addon, as ``make test`` does). Creates N customers with an active mandate and
one posted invoice each (not timed), then times separately: the proposal, the batch
creation, the file generation (pain.008, XSD-validated), the posting (one entry,
one reconciliation) and the commit that follows it. Prints the figures and peak
memory; the last line is ``total=<seconds> peak_rss=<MB>``.

    python bench/batch_cycle.py -c .build/odoo.conf -d sepa_dd_bench -n 10000
"""

import argparse
import resource
import time
from contextlib import contextmanager

import odoo
from odoo import SUPERUSER_ID, Command, api, fields

CHUNK = 2000


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label, timings):
    start = time.perf_counter()
    yield
    timings[label] = time.perf_counter() - start
    print(f"{label:<14} {timings[label]:8.2f} s   peak_rss={peak_rss_mb():.0f} MB", flush=True)


def iban(number):
    """A valid Dutch IBAN for account ``number`` (bank code TEST is fine for schwifty?)."""
    account = f"{number:010d}"
    bban = "INGB" + account
    digits = "".join(str(int(char, 36)) for char in bban + "NL00")
    check = 98 - int(digits) % 97
    return f"NL{check:02d}{bban}"


def setup_company(env):
    company = env.company
    euro = env.ref("base.EUR")
    euro.active = True
    if company.currency_id != euro:
        company.currency_id = euro
    company.sepa_creditor_identifier = "NL69ZZZ123456780000"
    company.sepa_background_threshold = 10**9
    journal = env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1)
    if not journal.bank_account_id:
        journal.bank_account_id = env["res.partner.bank"].create({
            "acc_number": "NL47BUNQ2020202020", "partner_id": company.partner_id.id})
    return company, journal


def create_data(env, n):
    income = env["account.account"].search(
        [("account_type", "=", "income"), ("company_ids", "in", env.company.ids)], limit=1)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        partners = env["res.partner"].create([
            {"name": f"Lid {start + i:06d}", "city": "Utrecht",
             "country_id": env.ref("base.nl").id}
            for i in range(size)
        ])
        banks = env["res.partner.bank"].create([
            {"acc_number": iban(start + i + 1), "partner_id": partner.id}
            for i, partner in enumerate(partners)
        ])
        env["sepa.mandate"].create([
            {"partner_id": partner.id, "partner_bank_id": bank.id,
             "signature_date": "2025-01-15", "state": "active",
             "sequence_type": "recurring" if i % 3 else "first"}
            for i, (partner, bank) in enumerate(zip(partners, banks, strict=True))
        ])
        partners.write({"sepa_collect": True})
        invoices = env["account.move"].create([
            {"move_type": "out_invoice", "partner_id": partner.id,
             "invoice_date": fields.Date.today(),
             "invoice_line_ids": [Command.create({
                 "name": "Contributie", "price_unit": 10 + (i % 50), "tax_ids": [],
                 "account_id": income.id})]}
            for i, partner in enumerate(partners)
        ])
        invoices.action_post()
        env.cr.commit()
        env.invalidate_all()
        print(f"set-up: {start + size} invoices", flush=True)


def run_cycle(env, journal):
    timings = {}
    with timed("proposal", timings):
        wizard = env["sepa.batch.proposal"].create({"journal_id": journal.id})
        wizard.action_propose()
        count = len(wizard.line_ids)
    with timed("create batch", timings):
        batch = env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
    with timed("generate file", timings):
        batch.action_generate()
    with timed("post entry", timings):
        batch.action_send()
    with timed("commit", timings):  # tracking messages and the like run at commit
        env.cr.commit()
    print(f"invoices={count} debits={batch.debit_count} total={batch.amount_total:.2f} "
          f"state={batch.state} entry_lines={len(batch.move_id.line_ids)}")
    return timings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-n", type=int, default=10000)
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        _company, journal = setup_company(env)
        started = time.perf_counter()
        create_data(env, args.n)
        print(f"set-up (not timed in total): {time.perf_counter() - started:.1f} s")
        timings = run_cycle(env, journal)
    print(f"total={sum(timings.values()):.2f} peak_rss={peak_rss_mb():.0f}")


if __name__ == "__main__":
    main()
