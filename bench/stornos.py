"""Benchmark of the return file import: one camt.054 with R returns of a settled batch.

Run with ``make bench-stornos R=1000`` (a fresh database ``sepa_dd_bench``, as
``make bench-batch``). Not timed: ``bench/batch_cycle.py``'s set-up makes R customers with
an active mandate and a posted invoice, the monthly cycle collects them in one sent
batch, and the batch is settled by calling ``sepa.batch._settle`` directly (what the
reconciliation of the bank's credit does). Then one camt.054.001.04 returns every debit
(one entry per return, mixed reason codes, /RTYP/RTRN). Timed, each step ending with its
commit as a user's request does: the import preview (read, match, preview lines) and the
registration (``action_apply``: stornos, storno entry, reconciliation, scores). The last
line is ``returns=<N> total=<seconds> peak_rss=<MB>`` (the import only). Then, timed on
its own line ``control=<N> open=<seconds> process=<seconds>``: the control after
reconciliation of the N failed debits (``sepa.control``: open with its lines and counts,
process the pre-filled choices), each step ending with its commit.

    python bench/stornos.py -c .build/odoo.conf -d sepa_dd_bench -n 1000 [--dump DIR]

With ``SEPA_BENCH_REPRESENT=1`` in the environment the company re-presents failed
debits automatically (the AM04 and MS03 returns, half of them, get a planned date).

``--dump DIR`` writes what the import produced (entries, lines, partials, full
reconciles, invoices, stornos, score events, mandates) without ids or timestamps, to
compare two versions of the code with ``diff -r``; ``--profile FILE`` writes the
cProfile statistics of the timed steps. Each step prints its number of queries.
"""

import argparse
import base64
import cProfile
import csv
import os
import sys
import time
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_cycle import create_data, peak_rss_mb, setup_company, timed  # noqa: E402

REASONS = ("AM04", "MS02", "MD06", "AC04", "MS03", "AM04", "MD01", "AM04")
NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.04"


def storno_account(env, company):
    """The *Stornos Outstanding Account* setting, as a bookkeeper sets it (returns after
    settlement are credited to it until the bank's debit is reconciled)."""
    if not company.sepa_storno_account_id:
        company.sepa_storno_account_id = env["account.account"].create({
            "name": "Stornos outstanding", "code": "109900", "account_type": "asset_current",
            "reconcile": True})


def settled_batch(env, journal):
    """Collect every invoice in one batch, send it and settle it (not timed). Without
    the mandates' tracking messages (one INSERT each: 6 minutes for 50,000 mandates)."""
    plain, env = env, env(context=dict(env.context, tracking_disable=True))
    wizard = env["sepa.batch.proposal"].create({"journal_id": journal.id})
    wizard.action_propose()
    batch = env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
    batch.action_generate()
    batch.action_send()
    batch._settle()
    env.cr.commit()
    return batch.with_env(plain)


def return_file(env, batch):
    """A camt.054 returning every debit of ``batch``: one booked entry per return."""
    env.cr.execute("""SELECT l.end_to_end_id, md.name, SUM(l.amount)
                        FROM sepa_batch_line l JOIN sepa_mandate md ON md.id = l.mandate_id
                       WHERE l.batch_id = %s GROUP BY 1, 2 ORDER BY 1""", [batch.id])
    entries = []
    for number, (e2e, mandate, amount) in enumerate(env.cr.fetchall()):
        reason = REASONS[number % len(REASONS)]
        entries.append(
            f'<Ntry><Amt Ccy="EUR">{amount:.2f}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
            "<Sts>BOOK</Sts><BookgDt><Dt>2030-02-05</Dt></BookgDt>"
            f"<ValDt><Dt>2030-02-05</Dt></ValDt><AcctSvcrRef>RTN-{number}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd>"
            "</Fmly></Domn></BkTxCd><NtryDtls><TxDtls>"
            f"<Refs><EndToEndId>{e2e}</EndToEndId><MndtId>{mandate}</MndtId></Refs>"
            f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount:.2f}</Amt></TxAmt></AmtDtls>'
            f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn><AddtlInf>/RTYP/RTRN</AddtlInf></RtrInf>"
            "</TxDtls></NtryDtls></Ntry>")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NAMESPACE}">'
        "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>BENCH-RETURNS</MsgId>"
        "<CreDtTm>2030-02-05T18:00:00</CreDtTm></GrpHdr><Ntfctn><Id>N1</Id>"
        "<CreDtTm>2030-02-05T18:00:00</CreDtTm>"
        "<Acct><Id><IBAN>NL47BUNQ2020202020</IBAN></Id></Acct>"
        f"{''.join(entries)}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


def run_import(env, data, profile=None):
    timings = {}
    profiler = cProfile.Profile() if profile else None
    queries = QueryTimer() if profile else None
    with timed("preview", timings), counted(env, profiler):
        wizard = env["sepa.return.import"].create({
            "data_file": base64.b64encode(data), "filename": "bench-returns.xml"})
        wizard.action_preview()
        env.cr.commit()
    counts = (wizard.match_count, wizard.unmatched_count, wizard.registered_count)
    mails_before = env["mail.mail"].search_count([("state", "=", "outgoing")])
    with timed("apply", timings), counted(env, profiler):
        action = wizard.action_apply()
        env.cr.commit()
    if profiler:
        profiler.dump_stats(profile)
        queries.report()
    stornos = env["sepa.storno"].search_count(action["domain"] + [("state", "=", "done")])
    mails = env["mail.mail"].search_count([("state", "=", "outgoing")]) - mails_before
    print(f"failed debit e-mails queued={mails}", flush=True)
    print(f"matched={counts[0]} unmatched={counts[1]} skipped={counts[2]} "
          f"stornos_done={stornos}", flush=True)
    if stornos != counts[0]:
        raise AssertionError(f"{stornos} stornos registered, {counts[0]} matched")
    return timings


def run_control(env, batch):
    """Control after reconciliation of every failed debit of ``batch``: open, process."""
    timings = {}
    with timed("control open", timings):
        action = env["sepa.control"]._action_open(batch)
        control = env["sepa.control"].browse(action["res_id"])
        counts = (control.line_count, control.retry_count, control.hold_count)
        env.cr.commit()
    with timed("control process", timings):
        control.action_process()
        env.cr.commit()
    released = env["sepa.storno"].search_count(
        [("batch_id", "=", batch.id), ("release_state", "!=", "none")])
    print(f"control lines={counts[0]} retry={counts[1]} hold={counts[2]} "
          f"released={released}", flush=True)
    if released != counts[0]:
        raise AssertionError(f"{released} failed debits released, {counts[0]} lines")
    return timings


class QueryTimer:
    """Total time per query text (its first 90 characters), installed with --profile."""

    def __init__(self):
        from collections import defaultdict

        from odoo import sql_db
        self.times, self.counts = defaultdict(float), defaultdict(int)
        original = sql_db.Cursor.execute

        def execute(cursor, query, params=None, log_exceptions=True):
            start = time.perf_counter()
            try:
                return original(cursor, query, params, log_exceptions)
            finally:
                text = " ".join(str(getattr(query, "code", query)).split())[:90]
                self.times[text] += time.perf_counter() - start
                self.counts[text] += 1
        sql_db.Cursor.execute = execute

    def report(self, top=15):
        for text, spent in sorted(self.times.items(), key=lambda item: -item[1])[:top]:
            print(f"  {spent:7.2f} s {self.counts[text]:5d}x  {text}", flush=True)


class counted:
    """Count the queries of a step (and profile it when ``profiler``)."""

    def __init__(self, env, profiler):
        self.cr, self.profiler = env.cr, profiler

    def __enter__(self):
        self.start = self.cr.sql_log_count
        if self.profiler:
            self.profiler.enable()

    def __exit__(self, *exc):
        if self.profiler:
            self.profiler.disable()
        print(f"{'':<14} {self.cr.sql_log_count - self.start} queries", flush=True)


# Line key: entry, label, account, partner, balance (ids differ between runs); a
# reconciliation is named by the smallest key of its lines.
LINE_KEY = """(m.name || '|' || coalesce(aml.name, '') || '|' || acc.code_store::text || '|'
               || coalesce(p.name, '') || '|' || aml.balance)"""
DUMP_QUERIES = {
    "moves.csv": """
        SELECT m.name, m.ref, m.date, m.state, m.move_type, j.code, m.amount_total,
               (SELECT count(*) FROM account_move_line l WHERE l.move_id = m.id)
          FROM account_move m JOIN account_journal j ON j.id = m.journal_id
         WHERE m.id IN %(moves)s ORDER BY m.name""",
    "lines.csv": f"""
        WITH keyed AS (
            SELECT aml.*, {LINE_KEY} AS key, acc.account_type
              FROM account_move_line aml JOIN account_move m ON m.id = aml.move_id
              JOIN account_account acc ON acc.id = aml.account_id
         LEFT JOIN res_partner p ON p.id = aml.partner_id
             WHERE aml.move_id IN %(moves)s OR aml.move_id IN %(invoices)s)
        SELECT k.key, k.debit, k.credit, k.amount_currency, k.amount_residual,
               k.amount_residual_currency, k.reconciled, k.date, k.date_maturity,
               k.parent_state, k.display_type, k.currency_id, k.price_subtotal,
               k.price_total, k.tax_line_id, k.journal_id, k.company_id,
               k.account_type, k.move_name, bl.end_to_end_id, s.name,
               left(k.matching_number, 1) = 'P',
               CASE WHEN k.matching_number IS NOT NULL THEN min(k.key) OVER (
                   PARTITION BY k.matching_number) END,
               CASE WHEN k.full_reconcile_id IS NOT NULL THEN min(k.key) OVER (
                   PARTITION BY k.full_reconcile_id) END
          FROM keyed k LEFT JOIN sepa_batch_line bl ON bl.id = k.sepa_batch_line_id
     LEFT JOIN sepa_storno s ON s.id = k.sepa_storno_id
         ORDER BY k.key""",
    "partials.csv": f"""
        SELECT (SELECT {LINE_KEY} FROM account_move_line aml
                  JOIN account_move m ON m.id = aml.move_id
                  JOIN account_account acc ON acc.id = aml.account_id
             LEFT JOIN res_partner p ON p.id = aml.partner_id WHERE aml.id = pr.debit_move_id),
               (SELECT {LINE_KEY} FROM account_move_line aml
                  JOIN account_move m ON m.id = aml.move_id
                  JOIN account_account acc ON acc.id = aml.account_id
             LEFT JOIN res_partner p ON p.id = aml.partner_id WHERE aml.id = pr.credit_move_id),
               pr.amount, pr.debit_amount_currency, pr.credit_amount_currency, pr.max_date,
               pr.full_reconcile_id IS NOT NULL, pr.exchange_move_id
          FROM account_partial_reconcile pr
         WHERE pr.debit_move_id IN (SELECT id FROM account_move_line
                                     WHERE move_id IN %(moves)s OR move_id IN %(invoices)s)
            OR pr.credit_move_id IN (SELECT id FROM account_move_line
                                      WHERE move_id IN %(moves)s OR move_id IN %(invoices)s)
         ORDER BY 1, 2, 3""",
    "invoices.csv": """
        SELECT m.name, m.amount_residual, m.amount_residual_signed, m.payment_state,
               m.sepa_state, m.state, m.amount_total
          FROM account_move m WHERE m.id IN %(invoices)s ORDER BY m.name""",
    "batch.csv": """
        SELECT b.name, b.state, b.settled_date, l.end_to_end_id, l.state, l.is_open
          FROM sepa_batch_line l JOIN sepa_batch b ON b.id = l.batch_id
         WHERE l.batch_id = %(batch)s ORDER BY l.end_to_end_id""",
    "stornos.csv": """
        SELECT s.name, s.state, s.kind, s.source, s.reason_code, r.code, s.points,
               s.amount, s.charge_amount, s.date, s.booking_date, s.end_to_end_id,
               s.transaction_ref, s.release_state, m.name, md.name, p.name, bl.end_to_end_id,
               (SELECT string_agg(inv.name, ' ' ORDER BY inv.name)
                  FROM sepa_storno_invoice_rel rel JOIN account_move inv
                       ON inv.id = rel.invoice_id WHERE rel.storno_id = s.id)
          FROM sepa_storno s LEFT JOIN account_move m ON m.id = s.move_id
     LEFT JOIN sepa_return_reason r ON r.id = s.reason_id
     LEFT JOIN sepa_mandate md ON md.id = s.mandate_id
     LEFT JOIN res_partner p ON p.id = s.partner_id
     LEFT JOIN sepa_batch_line bl ON bl.id = s.batch_line_id
         ORDER BY s.name""",
    "events.csv": """
        SELECT md.name, s.name, e.kind, e.reason_code, e.points, e.score, e.date
          FROM sepa_storno_event e JOIN sepa_mandate md ON md.id = e.mandate_id
     LEFT JOIN sepa_storno s ON s.id = e.storno_id
         ORDER BY md.name, e.id""",
    "mandates.csv": """
        SELECT md.name, md.state, md.storno_score,
               (SELECT string_agg(regexp_replace(msg.body, '[0-9]{2}/[0-9]{2}/[0-9]{4}', 'D',
                                                 'g'), ' | ' ORDER BY msg.id)
                  FROM mail_message msg
                 WHERE msg.model = 'sepa.mandate' AND msg.res_id = md.id)
          FROM sepa_mandate md ORDER BY md.name""",
}


def dump_output(env, batch, folder):
    """Write what the import produced to ``folder`` (see the module's docstring)."""
    os.makedirs(folder, exist_ok=True)
    env.cr.execute("SELECT DISTINCT move_id FROM sepa_storno WHERE move_id IS NOT NULL")
    moves = tuple(row[0] for row in env.cr.fetchall()) + (batch.move_id.id,)
    invoices = tuple(batch.line_ids.invoice_id.ids) or (0,)
    for name, query in DUMP_QUERIES.items():
        env.cr.execute(query, {"batch": batch.id, "moves": moves, "invoices": invoices})
        with open(os.path.join(folder, name), "w", newline="") as out:
            csv.writer(out).writerows(env.cr.fetchall())
    print(f"output written to {folder}", flush=True)


def customer_mail(env, batch):
    """Every customer of the batch gets an e-mail address (not timed), and the company
    tells the customers of failed debits (``BENCH_STORNO_MAIL=0``: it does not)."""
    env.cr.execute(
        """UPDATE res_partner SET email = 'member' || id || '@example.org'
            WHERE id IN (SELECT partner_id FROM sepa_batch_line WHERE batch_id = %s)""",
        [batch.id])
    env.invalidate_all()
    batch.company_id.sepa_storno_mail = os.environ.get("BENCH_STORNO_MAIL", "1") != "0"
    env.cr.commit()
    print(f"failed debit e-mails: {'on' if batch.company_id.sepa_storno_mail else 'off'}",
          flush=True)


def set_up(env, n):
    """R customers, one settled batch collecting them; committed (not timed)."""
    company, journal = setup_company(env)
    storno_account(env, company)
    started = time.perf_counter()
    create_data(env, n)
    batch = settled_batch(env, journal)
    print(f"set-up (not timed in total): {time.perf_counter() - started:.1f} s, "
          f"batch {batch.name} {batch.state} with {batch.debit_count} debits", flush=True)
    return batch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-n", type=int, default=1000, help="number of returns")
    parser.add_argument("--dump", metavar="DIR", help="write what the import produced to DIR")
    parser.add_argument("--profile", metavar="FILE", help="cProfile statistics to FILE")
    step = parser.add_mutually_exclusive_group()
    step.add_argument("--setup-only", action="store_true",
                      help="only build the settled batch (commit, then stop)")
    step.add_argument("--import-only", action="store_true",
                      help="import returning the settled batch an earlier --setup-only built")
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if args.import_only:
            batch = env["sepa.batch"].search([("state", "=", "done")], order="id desc",
                                             limit=1)
            if batch.debit_count != args.n or not batch.settled_date:
                raise SystemExit(f"no settled batch of {args.n} debits in {args.database}")
        else:
            batch = set_up(env, args.n)
        if args.setup_only:
            return
        if os.environ.get("SEPA_BENCH_REPRESENT") == "1":
            # re-present failed debits automatically (AM04, MS03: half the returns)
            batch.company_id.sepa_represent_auto = True
            env.cr.commit()
            print("re-presentation policy on", flush=True)
        data = return_file(env, batch)
        print(f"file {len(data) / 1e6:.1f} MB", flush=True)
        customer_mail(env, batch)
        timings = run_import(env, data, args.profile)
        import_peak = peak_rss_mb()  # the import's; the control below is extra
        if args.dump:
            dump_output(env, batch, args.dump)
        control = run_control(env, batch)
    print(f"control={args.n} open={control['control open']:.2f} "
          f"process={control['control process']:.2f}")
    print(f"returns={args.n} total={sum(timings.values()):.2f} peak_rss={import_peak:.0f}")


if __name__ == "__main__":
    main()
