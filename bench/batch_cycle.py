"""Benchmark of the monthly collection cycle in a real Odoo database.

Run with ``make bench-batch N=10000`` (it creates a fresh database ``sepa_dd_bench``
with the addon, as ``make test`` does). Creates N customers with a bank account, an
active mandate and one posted invoice each (not timed): a seed of up to 300 through the
ORM, multiplied to N by cloning its rows in SQL (every column copied; ids, links, names,
IBANs, mandate and invoice numbers made the clone's own), then checked in SQL. Then it
times separately: the proposal, the batch creation, the file generation (pain.008,
XSD-validated) and the posting (one entry, one reconciliation), each with the commit
that ends it as it ends a user's request; then, after the output of the cycle is dumped
(``--dump``), the cancel of the sent batch (invoices reopened, entry reversed), timed the
same way. Prints the figures and peak memory; the last line is
``total=<seconds> peak_rss=<MB>``, the total of the cycle (the cancel not in it, so that
it compares with the figures of before). ``--profile DIR`` profiles each step (cProfile,
which slows it down) into ``DIR/<step>.prof`` and ``DIR/<step>.txt``: the functions by
cumulative time, then every query of the step with its count and time.

    python bench/batch_cycle.py -c .build/odoo.conf -d sepa_dd_bench -n 10000
"""

import argparse
import io
import os
import re
import resource
import threading
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext

import odoo
from odoo import SUPERUSER_ID, Command, api, fields

SEED = 300  # a multiple of 3 and 50: clones repeat the FRST/RCUR and amount pattern
MODEL_TABLES = {"res.partner": "res_partner", "res.partner.bank": "res_partner_bank",
                "sepa.mandate": "sepa_mandate", "account.move": "account_move"}
# Table to clone: (column joined to the stage's key, seed rows as (key, member i)).
STAGES = {
    "res_partner": ("id", "SELECT res_partner, i FROM seed_member"),
    "res_partner_bank": ("id", "SELECT res_partner_bank, i FROM seed_member"),
    "sepa_mandate": ("id", "SELECT sepa_mandate, i FROM seed_member"),
    "account_move": ("id", "SELECT account_move, i FROM seed_member"),
    "account_move_line": ("id", "SELECT l.id, s.i FROM account_move_line l "
                                "JOIN seed_member s ON l.move_id = s.account_move"),
    "mail_followers": ("id", "SELECT f.id, s.i FROM mail_followers f JOIN seed_member s "
                             "ON f.res_model = 'account.move' AND f.res_id = s.account_move"),
    "mail_followers_mail_message_subtype_rel": (
        "mail_followers_id", "SELECT key, i FROM stage_mail_followers"),
    "mail_message": ("id", "SELECT m.id, s.i FROM mail_message m JOIN seed_member s ON "
                           "m.res_id = {member_of_model}"),
}
# Columns whose value differs between a seed row (t, member s) and its clone (member c).
OVERRIDES = {
    "res_partner": {"name": "c.partner_name", "complete_name": "c.partner_name"},
    "res_partner_bank": {
        "acc_number": "c.acc_number", "sanitized_acc_number": "c.sanitized",
        "acc_holder_name": "replace(t.acc_holder_name, s.partner_name, c.partner_name)"},
    "sepa_mandate": {"name": "c.mandate_name"},
    "account_move": {
        "name": "c.move_name", "sequence_number": "c.sequence_number",
        "payment_reference": "replace(t.payment_reference, s.move_name, c.move_name)",
        "invoice_partner_display_name":
            "replace(t.invoice_partner_display_name, s.partner_name, c.partner_name)"},
    "account_move_line": {
        "move_name": "c.move_name", "name": "replace(t.name, s.move_name, c.move_name)"},
    "mail_followers": {"res_id": "{res_id}"},
    "mail_message": {
        "res_id": "{res_id}",
        "record_name": "replace(replace(t.record_name, s.move_name, c.move_name), "
                       "s.partner_name, c.partner_name)",
        "message_id": "regexp_replace(t.message_id, '-openerp-[0-9]+-', "
                      "'-openerp-' || {res_id} || '-')",
        # the partner's chatter links its bank account: "Bank Account #<id> created"
        "body": "replace(t.body, format('data-oe-id=\"%1$s\">#%1$s<', s.res_partner_bank), "
                "format('data-oe-id=\"%1$s\">#%1$s<', {new_bank}))"},
}

# invoices to collect, of which consistent; distinct partners, IBANs, mandates, names;
# sum of amounts; recurring mandates (every third one is FRST)
CHECK_INVOICES = """
    SELECT count(*), count(*) FILTER (WHERE m.partner_id = a.commercial_partner_id
             AND a.partner_id = p.id AND p.commercial_partner_id = p.id AND p.sepa_collect
             AND b.partner_id = p.id AND m.state = 'active' AND f.id IS NOT NULL
             AND b.sanitized_acc_number = upper(replace(b.acc_number, ' ', ''))),
           count(DISTINCT p.name), count(DISTINCT b.sanitized_acc_number),
           count(DISTINCT m.name), count(DISTINCT a.name), coalesce(sum(a.amount_residual), 0),
           count(*) FILTER (WHERE m.sequence_type_override = 'recurring')
    FROM account_move a
    JOIN sepa_mandate m ON m.id = a.sepa_mandate_id
    JOIN res_partner p ON p.id = m.partner_id
    JOIN res_partner_bank b ON b.id = m.partner_bank_id
    LEFT JOIN mail_followers f ON f.res_model = 'account.move' AND f.res_id = a.id
         AND f.partner_id = p.id
    WHERE a.move_type = 'out_invoice' AND a.state = 'posted' AND a.sepa_state = 'to_collect'
"""
# moves whose lines do not balance, do not add up to the residual or belong elsewhere
CHECK_MOVES = """
    SELECT count(*) FROM (
        SELECT a.id FROM account_move a JOIN account_move_line l ON l.move_id = a.id
        GROUP BY a.id
        HAVING sum(l.balance) <> 0
            OR sum(l.amount_residual) FILTER (WHERE l.display_type = 'payment_term')
               <> a.amount_residual
            OR bool_or(l.move_name <> a.name OR l.partner_id <> a.commercial_partner_id)
    ) AS wrong
"""


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label, timings):
    start = time.perf_counter()
    yield
    timings[label] = time.perf_counter() - start
    print(f"{label:<14} {timings[label]:8.2f} s   peak_rss={peak_rss_mb():.0f} MB", flush=True)


@contextmanager
def profiled(label, folder):
    """Profile the block: ``folder/<label>.prof`` (cProfile) and ``folder/<label>.txt``
    (functions by cumulative time, then the queries by total time, each with its count;
    through Odoo's cursor's ``query_hooks``)."""
    import cProfile
    import pstats
    queries = defaultdict(lambda: [0, 0.0])

    def hook(_cr, query, _params, _start, delay):
        text = query.decode() if isinstance(query, bytes) else str(query)
        text = re.sub(r"(%s,\s*)+%s", "%s, ...", re.sub(r"\s+", " ", text).strip())
        queries[text][0] += 1
        queries[text][1] += delay

    thread = threading.current_thread()
    hooks = getattr(thread, "query_hooks", ())
    thread.query_hooks = (*hooks, hook)
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        thread.query_hooks = hooks
        name = label.replace(" ", "_")
        os.makedirs(folder, exist_ok=True)
        profile.dump_stats(os.path.join(folder, f"{name}.prof"))
        with open(os.path.join(folder, f"{name}.txt"), "w") as out:
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(60)
            total = sum(seconds for _count, seconds in queries.values())
            out.write(f"\n{sum(c for c, _s in queries.values())} queries, {total:.2f} s\n")
            for text, (count, seconds) in sorted(queries.items(), key=lambda q: -q[1][1]):
                out.write(f"{seconds:8.3f} s {count:6d}x  {text[:400]}\n")


@contextmanager
def timed_notices():
    """The time spent queueing the pre-notification e-mails inside the block
    (``sepa.prenote.mail._prepare``, which reads the debits to notify and makes their
    portal tokens, and ``notify``), and how many were queued."""
    from unittest.mock import patch
    registry = odoo.modules.registry.Registry(odoo.tools.config["db_name"])
    model = registry["sepa.prenote.mail"]
    original_prepare, original_notify = model._prepare, model.notify
    figures = {"seconds": 0.0, "mails": 0}

    def prepare(self, lines):
        start = time.perf_counter()
        prepared = original_prepare(self, lines)
        figures["seconds"] += time.perf_counter() - start
        return prepared

    def notify(self, lines, *args):
        start = time.perf_counter()
        mails = original_notify(self, lines, *args)
        figures["seconds"] += time.perf_counter() - start
        figures["mails"] += len(mails)
        return mails

    with patch.object(model, "_prepare", prepare), patch.object(model, "notify", notify):
        yield figures


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
    # pre-notification by e-mail per debit (BENCH_NOTICE_MAIL=0: on the invoice only)
    company.sepa_notice_method = "email" if os.environ.get("BENCH_NOTICE_MAIL", "1") != "0" \
        else "invoice"
    journal = env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1)
    if not journal.bank_account_id:
        journal.bank_account_id = env["res.partner.bank"].create({
            "acc_number": "NL47BUNQ2020202020", "partner_id": company.partner_id.id})
    return company, journal


def create_data(env, n):
    """N partners with a bank account, an active mandate and a posted invoice each."""
    started = time.perf_counter()
    seed = create_seed(env, min(n, SEED))
    print(f"set-up: {len(seed[0])} invoices through the ORM "
          f"({time.perf_counter() - started:.1f} s)", flush=True)
    if n > SEED:
        clone_seed(env.cr, seed, n)
        advance_mandate_sequence(env, n - SEED)
        env.invalidate_all()
        print(f"set-up: {n} invoices after cloning in SQL "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
    # every member has an e-mail address (the pre-notification goes to it)
    env.cr.execute("""UPDATE res_partner SET email = 'member' || id || '@example.org'
                       WHERE sepa_collect""")
    env.invalidate_all()
    env.cr.execute("ANALYZE")
    check_data(env.cr, n)
    env.cr.commit()


def create_seed(env, size):
    income = env["account.account"].search(
        [("account_type", "=", "income"), ("company_ids", "in", env.company.ids)], limit=1)
    partners = env["res.partner"].create([
        {"name": partner_name(i), "city": "Utrecht", "country_id": env.ref("base.nl").id}
        for i in range(size)
    ])
    banks = env["res.partner.bank"].create([
        {"acc_number": iban(i + 1), "partner_id": partner.id}
        for i, partner in enumerate(partners)
    ])
    mandates = env["sepa.mandate"].create([
        {"partner_id": partner.id, "partner_bank_id": bank.id,
         "signature_date": "2025-01-15", "state": "active",
         "sequence_type_override": "recurring" if i % 3 else False}
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
    return partners, banks, mandates, invoices


def partner_name(index):
    return f"Lid {index:06d}"


# ----------------------------------------------------------------------------------
# Cloning the seed in SQL: member i of the seed (a partner with its bank account,
# mandate and invoice) is copied to members j = k * SEED + i for k = 1, 2, ... All
# columns are copied; ids get + k * span of their table, as do the foreign keys
# (and res_ids) pointing at seed rows; OVERRIDES give clones their own names.
# ----------------------------------------------------------------------------------

def clone_seed(cr, seed, n):
    partners, banks, mandates, invoices = seed
    cr.execute("""
        CREATE TEMP TABLE seed_member ON COMMIT DROP AS
        SELECT i - 1 AS i, res_partner, res_partner_bank, sepa_mandate, account_move,
               p.name AS partner_name, a.name AS move_name
        FROM unnest(%s, %s, %s, %s) WITH ORDINALITY
             AS m(res_partner, res_partner_bank, sepa_mandate, account_move, i)
        JOIN res_partner p ON p.id = res_partner JOIN account_move a ON a.id = account_move
    """, [partners.ids, banks.ids, mandates.ids, invoices.ids])
    load_clone_members(cr, clone_members(invoices, n))
    spans = {table: stage(cr, table) for table in STAGES}
    foreign_keys = cloned_foreign_keys(cr, spans)
    with foreign_keys_checked_at_end(cr, list(STAGES)):
        for table in STAGES:
            insert_clones(cr, table, spans, foreign_keys.get(table, {}))
            if spans[table]:
                cr.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")


@contextmanager
def foreign_keys_checked_at_end(cr, tables):
    """Drop the foreign keys of ``tables``, then add them back: PostgreSQL checks the
    new rows in one join per key instead of one query per row and key (3x faster)."""
    cr.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
               "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
               [tables])
    constraints = cr.fetchall()
    for table, name, _definition in constraints:
        cr.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for table, name, definition in constraints:
        cr.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def clone_members(invoices, n):
    """Per clone j: its block k, seed member i and its own names, IBAN and numbers."""
    from odoo.addons.base_iban.models.res_partner_bank import pretty_iban  # after init

    last = invoices.sorted("sequence_number")[-1]
    move_format, move_values = last._get_sequence_format_param(last.name)
    first_move = last.sequence_number + 1
    sequence = mandate_sequence(invoices.env)
    prefix, suffix = sequence._get_prefix_suffix()
    mandate_format = f"{prefix}{{:0{sequence.padding}d}}{suffix}"
    first_mandate = sequence.number_next_actual
    for j in range(SEED, n):
        number = first_move + j - SEED
        account = iban(j + 1)
        yield (j, j // SEED, j % SEED, partner_name(j), pretty_iban(account), account,
               mandate_format.format(first_mandate + j - SEED),
               move_format.format(**{**move_values, "seq": number}), number)


def load_clone_members(cr, rows):
    cr.execute("""
        CREATE TEMP TABLE clone_member (
            j int PRIMARY KEY, k int, i int, partner_name varchar, acc_number varchar,
            sanitized varchar, mandate_name varchar, move_name varchar,
            sequence_number int) ON COMMIT DROP
    """)
    buffer = io.StringIO("".join("\t".join(map(str, row)) + "\n" for row in rows))
    cr.copy_expert("COPY clone_member FROM STDIN", buffer)
    cr.execute("CREATE INDEX ON clone_member (i)")


def stage(cr, table):
    """Stage the seed rows of ``table``; return the span its clone ids are shifted by."""
    key, query = STAGES[table]
    query = query.format(member_of_model=" ".join(
        ["CASE m.model", *(f"WHEN '{model}' THEN s.{member}"
                           for model, member in MODEL_TABLES.items()), "END"]))
    cr.execute(f"CREATE TEMP TABLE stage_{table} ON COMMIT DROP AS "
               f"SELECT seed.* FROM ({query}) AS seed(key, i)")
    if key != "id":
        return None
    cr.execute(f"SELECT (SELECT max(id) FROM {table}) - min(key) + 1 FROM stage_{table}")
    return cr.fetchone()[0]


def cloned_foreign_keys(cr, spans):
    """{table: {column: referenced table}} for foreign keys between cloned tables."""
    cr.execute("""
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
          AND c.confrelid::regclass::text = ANY(%s)
    """, [list(spans), [table for table, span in spans.items() if span]])
    foreign_keys = {}
    for table, column, target in cr.fetchall():
        foreign_keys.setdefault(table, {})[column] = target
    return foreign_keys


def insert_clones(cr, table, spans, foreign_keys):
    cr.execute("SELECT column_name FROM information_schema.columns "
               "WHERE table_schema = current_schema() AND table_name = %s "
               "ORDER BY ordinal_position", [table])
    columns = [column for column, in cr.fetchall()]
    exprs = [clone_expr(table, column, spans, foreign_keys) for column in columns]
    cr.execute(f"""
        INSERT INTO {table} ({", ".join(f'"{column}"' for column in columns)})
        SELECT {", ".join(exprs)}
        FROM {table} t JOIN stage_{table} st ON t.{STAGES[table][0]} = st.key
        JOIN seed_member s ON s.i = st.i JOIN clone_member c ON c.i = st.i
    """)


def clone_expr(table, column, spans, foreign_keys):
    if column == "id":
        return f"t.id + c.k * {spans[table]}"
    if column in OVERRIDES.get(table, {}):
        return OVERRIDES[table][column].format(
            res_id=f"(t.res_id + c.k * {res_id_span(table, spans)})",
            new_bank=f"s.res_partner_bank + c.k * {spans['res_partner_bank']}")
    if column in foreign_keys:
        target = foreign_keys[column]
        return (f'CASE WHEN t."{column}" IN (SELECT key FROM stage_{target}) '
                f'THEN t."{column}" + c.k * {spans[target]} ELSE t."{column}" END')
    return f't."{column}"'


def res_id_span(table, spans):
    """The span of the table of the record a follower or message is attached to."""
    model_column = "t.model" if table == "mail_message" else "t.res_model"
    return " ".join([f"CASE {model_column}", *(
        f"WHEN '{model}' THEN {spans[member]}" for model, member in MODEL_TABLES.items()
    ), "END"])


def mandate_sequence(env):
    """The sequence ``next_by_code("sepa.mandate")`` takes its numbers from."""
    return env["ir.sequence"].search([
        ("code", "=", "sepa.mandate"), ("company_id", "in", [env.company.id, False]),
    ], order="company_id", limit=1)


def advance_mandate_sequence(env, count):
    sequence = mandate_sequence(env)
    sequence.number_next_actual += count


def check_data(cr, n):
    """Fail unless the N invoices, their partners, banks and mandates are consistent."""
    cr.execute(CHECK_INVOICES)
    expected = (n, n, n, n, n, n, sum(10 + i % 50 for i in range(n)),
                sum(1 for i in range(n) if i % 3))
    found = cr.fetchone()
    cr.execute(CHECK_MOVES)
    found += cr.fetchone()
    if found != (*expected, 0):
        raise AssertionError(f"set-up inconsistent: {found} instead of {(*expected, 0)}")


def run_cycle(env, journal, profile=None):
    """Each step as a user's click: the action, then the commit that ends the request.

    Committing inside each timing puts pending recomputations and tracking where they
    belong instead of in the next step. ``profile``: the folder of ``profiled``.
    """
    timings = {}

    def step(label):
        return profiled(label, profile) if profile else nullcontext()

    with timed("proposal", timings), step("proposal"):
        wizard = env["sepa.batch.proposal"].create({"journal_id": journal.id})
        wizard.action_propose()
        env.cr.commit()
    # counted in SQL, outside the timing: ``len(wizard.line_ids)`` read every proposal
    # line (7 s at 100,000), a cost of the bench, not of the user's click
    env.cr.execute("SELECT count(*) FROM sepa_batch_proposal_line WHERE proposal_id = %s "
                   "AND (reason IS NULL OR reason = '')", [wizard.id])
    count = env.cr.fetchone()[0]
    with timed("create batch", timings), step("create batch"), timed_notices() as notices:
        batch = env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        env.cr.commit()
    print(f"  of which pre-notification e-mails queued: {notices['seconds']:.2f} s "
          f"(e-mails={notices['mails']}, method={env.company.sepa_notice_method})", flush=True)
    with timed("generate file", timings), step("generate file"):
        batch.action_generate()
        env.cr.commit()
    with timed("post entry", timings), step("post entry"):
        batch.action_send()
        env.cr.commit()
    print(f"invoices={count} debits={batch.debit_count} total={batch.amount_total:.2f} "
          f"state={batch.state} entry_lines={len(batch.move_id.line_ids)}")
    return timings, batch


def cancel_batch(env, batch):
    """Cancel the sent batch as a user's click (the action, then the commit), timed apart
    from the cycle; checks that every invoice is open again for its whole amount."""
    timings = {}
    with timed("cancel", timings):
        batch.action_cancel()
        env.cr.commit()
    env.cr.execute("""
        SELECT count(*) FILTER (WHERE m.payment_state = 'not_paid'
                                  AND m.amount_residual = m.amount_total),
               count(*)
          FROM account_move m JOIN sepa_batch_line l ON l.invoice_id = m.id
         WHERE l.batch_id = %s""", [batch.id])
    reopened, count = env.cr.fetchone()
    print(f"cancelled: state={batch.state} invoices_reopened={reopened}/{count} "
          f"reversal_lines={len(batch.move_id.reversal_move_ids.line_ids)}")
    return timings


DUMP_QUERIES = {
    # Every business column of the batch lines (no ids, no timestamps).
    "batch_lines.csv": """
        SELECT l.end_to_end_id, l.debit_number, l.pmt_inf_id, inv.name, p.name, md.name,
               l.amount, l.sequence_type, l.collection_date, l.remittance, l.original_iban,
               l.original_reference, l.state, l.is_open
          FROM sepa_batch_line l JOIN account_move inv ON inv.id = l.invoice_id
          JOIN res_partner p ON p.id = l.partner_id JOIN sepa_mandate md ON md.id = l.mandate_id
         WHERE l.batch_id = %(batch)s ORDER BY l.end_to_end_id, inv.name""",
    # The entry's rows, matched invoices by name (ids differ between runs).
    "entry_lines.csv": """
        SELECT aml.name, acc.code_store::text, acc.account_type, p.name,
               aml.debit, aml.credit, aml.balance, aml.amount_currency, aml.amount_residual,
               aml.amount_residual_currency, aml.reconciled, aml.full_reconcile_id IS NOT NULL,
               aml.date, aml.date_maturity, aml.parent_state, aml.display_type,
               bl.end_to_end_id,
               (SELECT string_agg(inv.name || ':' || pr.amount, ' ' ORDER BY inv.name)
                  FROM account_partial_reconcile pr
                  JOIN account_move_line d ON d.id = pr.debit_move_id
                  JOIN account_move inv ON inv.id = d.move_id
                 WHERE pr.credit_move_id = aml.id)
          FROM account_move_line aml JOIN account_account acc ON acc.id = aml.account_id
     LEFT JOIN res_partner p ON p.id = aml.partner_id
     LEFT JOIN sepa_batch_line bl ON bl.id = aml.sepa_batch_line_id
         WHERE aml.move_id = %(move)s ORDER BY aml.name, aml.balance""",
    "invoices.csv": """
        SELECT m.name, m.amount_residual, m.amount_residual_signed, m.payment_state,
               m.state, m.amount_total
          FROM account_move m JOIN sepa_batch_line l ON l.invoice_id = m.id
         WHERE l.batch_id = %(batch)s ORDER BY m.name""",
}


def dump_output(env, batch, folder):
    """Write what the cycle produced (file, lines, entry, invoices) to ``folder``, ids and
    timestamps left out, so two runs of two versions of the code can be compared with
    ``diff -r``."""
    import base64
    import csv
    import os
    import re
    os.makedirs(folder, exist_ok=True)
    xml = base64.b64decode(batch.file).decode()
    xml = re.sub(r"<CreDtTm>[^<]*</CreDtTm>", "<CreDtTm>-</CreDtTm>", xml)
    with open(os.path.join(folder, "pain008.xml"), "w") as out:
        out.write(xml)
    for name, query in DUMP_QUERIES.items():
        env.cr.execute(query, {"batch": batch.id, "move": batch.move_id.id})
        with open(os.path.join(folder, name), "w", newline="") as out:
            csv.writer(out).writerows(env.cr.fetchall())
    print(f"output written to {folder}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("--dump", metavar="DIR",
                        help="write the file, batch lines, entry and invoices to DIR")
    parser.add_argument("--profile", metavar="DIR",
                        help="profile each step (cProfile and queries) into DIR")
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        _company, journal = setup_company(env)
        started = time.perf_counter()
        create_data(env, args.n)
        print(f"set-up (not timed in total): {time.perf_counter() - started:.1f} s")
        timings, batch = run_cycle(env, journal, args.profile)
        if args.dump:
            dump_output(env, batch, args.dump)
        cancel_batch(env, batch)
    print(f"total={sum(timings.values()):.2f} peak_rss={peak_rss_mb():.0f}")


if __name__ == "__main__":
    main()
