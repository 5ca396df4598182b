"""Benchmark of moving in: N existing mandates imported through Odoo's import.

Run with ``make bench-import N=10000`` (a fresh database ``sepa_dd_bench``, as the other
benchmarks). Creates N customers with a reference (not timed), writes a CSV file in the
template's columns (customer by reference, account holder, a new IBAN each, BIC,
reference, signature date, type, scheme, state, last collection date, collected before:
two of three collected before), then times what the import dialog does: the Test button
(``execute_import`` with ``dryrun``, rolled back) and the import itself (``load`` as the
import runs it: every row checked, N bank accounts and N mandates created), each ended by
a commit as a request is. Checks the result in SQL. The last line is
``import=<seconds> test=<seconds> peak_rss=<MB>``.

    python bench/mandate_import.py -c .build/odoo.conf -d sepa_dd_bench -n 10000
"""

import argparse
import resource
import time
from datetime import date, timedelta

import odoo
from odoo import SUPERUSER_ID, api

HEADER = ["Customer", "Account Holder", "IBAN", "BIC", "Mandate Reference",
          "Signature Date", "Type", "Scheme", "State", "Last Collection Date",
          "Collected Before"]
COLUMNS = ["import_customer", "import_account_holder", "import_iban", "import_bic", "name",
           "signature_date", "mandate_type", "scheme", "state",
           "import_last_collection_date", "import_collected_before"]
OPTIONS = {"has_headers": True, "separator": ",", "quoting": '"', "encoding": "utf-8",
           "date_format": "%Y-%m-%d"}
CHECK = """
    SELECT count(*), count(*) FILTER (WHERE m.state = 'active'),
           count(*) FILTER (WHERE m.sequence_type_override = 'recurring' AND m.converted
                            AND m.last_debit_date IS NOT NULL),
           count(DISTINCT m.partner_bank_id),
           count(*) FILTER (WHERE b.partner_id = m.partner_id AND p.sepa_collect)
      FROM sepa_mandate m
      JOIN res_partner_bank b ON b.id = m.partner_bank_id
      JOIN res_partner p ON p.id = m.partner_id
     WHERE m.name LIKE 'IMP-%%'
"""


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def iban(number):
    """A valid Dutch IBAN for account ``number``."""
    bban = "INGB" + f"{number:010d}"
    digits = "".join(str(int(char, 36)) for char in bban + "NL00")
    return f"NL{98 - int(digits) % 97:02d}{bban}"


def create_customers(env, n):
    env["res.partner"].create([{"name": f"Lid {i:06d}", "ref": f"K{i:06d}"}
                               for i in range(n)])
    env.cr.commit()


def csv_file(n):
    today = date.today()
    lines = [",".join(HEADER)]
    for i in range(n):
        collected = i % 3 != 0
        last = (today - timedelta(days=20 + i % 300)).isoformat() if collected else ""
        lines.append(",".join([
            f"K{i:06d}", f"Lid {i:06d}", iban(500000 + i), "INGBNL2A", f"IMP-{i:06d}",
            (today - timedelta(days=400 + i % 2000)).isoformat(), "Recurring", "CORE",
            "" if collected else "Active", last, "yes" if collected else "no"]))
    return "\n".join(lines).encode()


def run_import(env, data, dryrun):
    wizard = env["base_import.import"].create({
        "res_model": "sepa.mandate", "file": data, "file_name": "mandates.csv",
        "file_type": "text/csv"})
    started = time.perf_counter()
    result = wizard.execute_import(COLUMNS, HEADER, dict(OPTIONS), dryrun=dryrun)
    env.cr.commit()
    elapsed = time.perf_counter() - started
    errors = [m for m in result["messages"] if m["type"] == "error"]
    if errors:
        raise SystemExit(f"import errors: {errors[:5]}")
    return elapsed, result


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
        started = time.perf_counter()
        create_customers(env, args.n)
        data = csv_file(args.n)
        print(f"set-up: {args.n} customers, CSV of {len(data) // 1024} kB "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
        test, _result = run_import(env, data, dryrun=True)
        print(f"test (dry run) {test:8.2f} s   peak_rss={peak_rss_mb():.0f} MB", flush=True)
        env.invalidate_all()
        imported, result = run_import(env, data, dryrun=False)
        print(f"import         {imported:8.2f} s   peak_rss={peak_rss_mb():.0f} MB",
              flush=True)
        env.invalidate_all()
        total, active, converted, banks, linked = env.execute_query(odoo.tools.SQL(CHECK))[0]
        expected_converted = args.n - len(range(0, args.n, 3))
        assert len(result["ids"]) == args.n == total == active == banks == linked, (
            len(result["ids"]), total, active, banks, linked)
        assert converted == expected_converted, (converted, expected_converted)
        print(f"checked: {total} mandates active, {converted} collected before (next debit "
              f"RCUR), {banks} bank accounts created", flush=True)
        print(f"import={imported:.2f} test={test:.2f} peak_rss={peak_rss_mb():.0f}")


if __name__ == "__main__":
    main()
