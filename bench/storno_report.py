"""Benchmark of the storno analysis (``sepa.storno.report``) on N debits.

Run with ``make bench-storno-report N=100000`` (a fresh database ``sepa_dd_bench``, as
``make bench-batch``). Not timed: ``bench/batch_cycle.py``'s set-up makes a few hundred
customers with an active mandate and a posted invoice, the cycle collects them in one
settled batch (``bench/stornos.py``), and that batch's lines are multiplied in SQL,
set-wise, into 20 settled batches of one month each until there are N debits; one
debit in 33 failed (a registered storno, reasons and kinds mixed). Timed, as the pivot
and the graph ask it, as the administrator (the multi-company rule applies): the
``read_group`` per month and reason, per month, and the total; each the best of 3 runs,
with the number of SQL queries it took. The last line is
``debits=<N> stornos=<S> month_reason=<seconds> queries=<Q>``.

    python bench/storno_report.py -c .build/odoo.conf -d sepa_dd_bench -n 100000
"""

import argparse
import sys
import time
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_cycle import create_data, peak_rss_mb, setup_company  # noqa: E402
from stornos import settled_batch  # noqa: E402

SEED = 150
MONTHS = 20
REASONS = ("AM04", "MS02", "MD06", "AC04", "MS03")
MEASURES = ["debit_count", "debit_amount", "storno_count", "storno_amount", "storno_rate"]


def columns(cr, table):
    cr.execute("""SELECT column_name FROM information_schema.columns
                   WHERE table_name = %s AND column_name != 'id'
                ORDER BY ordinal_position""", [table])
    return [row[0] for row in cr.fetchall()]


def copy_sql(cr, table, overrides, source):
    """``INSERT INTO table (every column) SELECT ... FROM source``; ``overrides`` give
    an expression per column, the others are copied from the seed row ``t``."""
    cols = columns(cr, table)
    values = ", ".join(overrides.get(col, f"t.{col}") for col in cols)
    cr.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {values} FROM {source}")  # noqa: S608


def multiply(env, batch, n):
    """MONTHS settled batches, one a month, holding n debits together: copies of the
    seed batch's lines (one invoice each) with their own end-to-end ids; one debit in
    33 failed."""
    cr = env.cr
    cr.execute("CREATE TEMP TABLE bench_batch (id int, k int) ON COMMIT DROP")
    for k in range(MONTHS):  # 20 rows: one statement each keeps it plain
        copy_sql(cr, "sepa_batch", {
            "name": f"t.name || '-M{k:02d}'", "state": "'done'",
            "collection_date": f"(t.collection_date - interval '{k} months')::date",
        }, f"sepa_batch t WHERE t.id = {batch.id}")
        cr.execute("INSERT INTO bench_batch SELECT currval('sepa_batch_id_seq'), %s", [k])
    cr.execute("""CREATE TEMP TABLE seed_line ON COMMIT DROP AS
                  SELECT l.*, row_number() OVER (ORDER BY l.id) - 1 AS rn
                    FROM sepa_batch_line l WHERE l.batch_id = %s""", [batch.id])
    cr.execute("SELECT count(*) FROM seed_line")
    seed = cr.fetchone()[0]
    n -= seed  # the seed batch's debits count too
    per_batch = -(-n // MONTHS)
    copy_sql(cr, "sepa_batch_line", {
        "batch_id": "b.id", "debit_number": "g + 1",
        "end_to_end_id": "nb.name || '-' || (g + 1)", "pmt_inf_id": "nb.name || '-P1'",
        "collection_date": "nb.collection_date", "is_open": "false",
        "state": "CASE WHEN g % 33 = 0 THEN 'failed' ELSE 'collected' END",
    }, f"""bench_batch b JOIN sepa_batch nb ON nb.id = b.id
           CROSS JOIN generate_series(0, {per_batch} - 1) g
           JOIN seed_line t ON t.rn = g % {seed}
          WHERE b.k * {per_batch} + g < {n}""")
    cr.execute("""
        INSERT INTO sepa_storno (name, batch_line_id, batch_id, mandate_id, partner_id,
               company_id, currency_id, end_to_end_id, date, booking_date, amount,
               charge_amount, reason_code, reason_id, kind, source, state, release_state,
               points, create_uid, create_date, write_uid, write_date)
        SELECT l.end_to_end_id || ' ' || r.code, l.id, l.batch_id, l.mandate_id,
               l.partner_id, l.company_id, b.currency_id, l.end_to_end_id,
               l.collection_date + 3, l.collection_date + 3, l.amount, 0, r.code, r.id,
               CASE WHEN l.debit_number %% 2 = 0 THEN 'reject' ELSE 'return' END, 'file',
               'done', 'retry', 1, 1, now(), 1, now()
          FROM sepa_batch_line l
          JOIN bench_batch bb ON bb.id = l.batch_id
          JOIN sepa_batch b ON b.id = l.batch_id
          JOIN sepa_return_reason r
            ON r.code = (%s::text[])[1 + (l.debit_number / 33) %% %s]
         WHERE l.state = 'failed'""", [list(REASONS), len(REASONS)])
    cr.execute("ANALYZE")
    env.invalidate_all()
    cr.commit()


def timed_read_group(report, groupby):
    """Best of 3 runs of the pivot's ``read_group`` and its number of queries."""
    best, queries, groups = None, None, None
    for _run in range(3):
        report.env.invalidate_all()
        count = report.env.cr.sql_log_count
        start = time.perf_counter()
        groups = report.read_group(
            [], [f"{m}:{'avg' if m == 'storno_rate' else 'sum'}" for m in MEASURES],
            groupby, lazy=False)
        elapsed = time.perf_counter() - start
        if best is None or elapsed < best:
            best, queries = elapsed, report.env.cr.sql_log_count - count
    return best, queries, groups


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-n", type=int, default=100000, help="number of debits")
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        _company, journal = setup_company(env)
        started = time.perf_counter()
        create_data(env, SEED)
        batch = settled_batch(env, journal)
        multiply(env, batch, args.n)
        admin = env.ref("base.user_admin")
        report = api.Environment(cr, admin.id, {}, su=False)["sepa.storno.report"]
        [total] = report.read_group([], ["debit_count:sum", "storno_count:sum"], [],
                                    lazy=False)
        print(f"set-up (not timed): {time.perf_counter() - started:.1f} s, "
              f"{total['debit_count']} debits, {total['storno_count']} stornos",
              flush=True)
        figures = {}
        for label, groupby in (("month_reason", ["date:month", "reason_id"]),
                               ("month", ["date:month"]), ("total", [])):
            figures[label] = timed_read_group(report, groupby)
            seconds, queries, groups = figures[label]
            print(f"read_group {label:<13} {seconds:6.3f} s  {queries} queries  "
                  f"{len(groups)} groups", flush=True)
        for group in figures["month"][2][:2]:
            print(f"  {group['date:month']}: {group['debit_count']} debits, "
                  f"{group['storno_count']} stornos, rate {group['storno_rate']:.2f} %",
                  flush=True)
    seconds, queries, _groups = figures["month_reason"]
    print(f"debits={total['debit_count']} stornos={total['storno_count']} "
          f"month_reason={seconds:.3f} queries={queries} peak_rss={peak_rss_mb():.0f}")


if __name__ == "__main__":
    main()
