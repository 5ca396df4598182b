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

    python bench/stornos.py -c .build/odoo.conf -d sepa_dd_bench -n 1000
"""

import argparse
import base64
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
    """Collect every invoice in one batch, send it and settle it (not timed)."""
    wizard = env["sepa.batch.proposal"].create({"journal_id": journal.id})
    wizard.action_propose()
    batch = env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
    batch.action_generate()
    batch.action_send()
    batch._settle()
    env.cr.commit()
    return batch


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


def run_import(env, data):
    timings = {}
    with timed("preview", timings):
        wizard = env["sepa.return.import"].create({
            "data_file": base64.b64encode(data), "filename": "bench-returns.xml"})
        wizard.action_preview()
        env.cr.commit()
    counts = (wizard.match_count, wizard.unmatched_count, wizard.registered_count)
    with timed("apply", timings):
        action = wizard.action_apply()
        env.cr.commit()
    stornos = env["sepa.storno"].search_count(action["domain"] + [("state", "=", "done")])
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-n", type=int, default=1000, help="number of returns")
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company, journal = setup_company(env)
        storno_account(env, company)
        started = time.perf_counter()
        create_data(env, args.n)
        batch = settled_batch(env, journal)
        data = return_file(env, batch)
        print(f"set-up (not timed in total): {time.perf_counter() - started:.1f} s, "
              f"batch {batch.name} {batch.state} with {batch.debit_count} debits, "
              f"file {len(data) / 1e6:.1f} MB", flush=True)
        timings = run_import(env, data)
        control = run_control(env, batch)
    print(f"control={args.n} open={control['control open']:.2f} "
          f"process={control['control process']:.2f}")
    print(f"returns={args.n} total={sum(timings.values()):.2f} peak_rss={peak_rss_mb():.0f}")


if __name__ == "__main__":
    main()
