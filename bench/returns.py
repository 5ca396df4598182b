"""Benchmark of the R-transaction reader: camt.054 files with 5,000 and 50,000 returns.

Run from the addon root: ``python bench/returns.py``. Each case runs in its own process
so that its peak RSS is its own; the file is generated in memory, then read. Two layouts:
``entries`` (one entry per return, as most banks book stornos) and ``batch`` (one entry
holding every return as TxDtls, the worst case for a tree-building parser).
"""

import argparse
import gc
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sepa.readers import read_message  # noqa: E402

SIZES = (5_000, 50_000)
LAYOUTS = ("entries", "batch")
REASONS = ("AM04", "MS02", "MD06", "AC04", "MD01", "AC06", "MS03", "MD07")
NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.04"
UPDD = (
    "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly>"
    "</Domn></BkTxCd>"
)


def amount(number):
    """Return the amount of return ``number`` (5.00 to 104.99)."""
    return Decimal(500 + number % 10_000) / 100


def tx_details(number):
    """Return one realistic ``TxDtls`` of a returned direct debit."""
    reason = REASONS[number % len(REASONS)]
    return (
        "<TxDtls><Refs>"
        f"<InstrId>B2024-03-{number:06d}</InstrId><EndToEndId>B2024-03-{number:06d}</EndToEndId>"
        f"<MndtId>MND-{number:06d}</MndtId></Refs>"
        f'<Amt Ccy="EUR">{amount(number)}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        f'<AmtDtls><InstdAmt><Amt Ccy="EUR">{amount(number)}</Amt></InstdAmt></AmtDtls>'
        f"<RltdPties><Dbtr><Nm>Debtor {number} van der Berg</Nm></Dbtr>"
        "<DbtrAcct><Id><IBAN>NL02ABNA0123456789</IBAN></Id></DbtrAcct>"
        "<Cdtr><Nm>Vereniging Voorbeeld</Nm></Cdtr></RltdPties>"
        f"<RmtInf><Ustrd>Contributie 2024 lid {number}</Ustrd></RmtInf>"
        f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn><AddtlInf>/RTYP/RTRN</AddtlInf></RtrInf>"
        "</TxDtls>"
    )


def entry(details, total, reference):
    """Return one debit entry holding ``details``."""
    return (
        f'<Ntry><Amt Ccy="EUR">{total}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2024-03-05</Dt></BookgDt><ValDt><Dt>2024-03-05</Dt></ValDt>"
        f"<AcctSvcrRef>{reference}</AcctSvcrRef>{UPDD}<NtryDtls>{details}</NtryDtls></Ntry>"
    )


def camt054(count, layout):
    """Return a camt.054 (bytes) with ``count`` returns in ``layout``."""
    if layout == "entries":
        body = [entry(tx_details(n), amount(n), f"R{n}") for n in range(count)]
    else:
        total = sum(amount(n) for n in range(count))
        body = [entry("".join(tx_details(n) for n in range(count)), total, "BATCH")]
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NAMESPACE}">'
        "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>BENCH</MsgId>"
        "<CreDtTm>2024-03-05T18:00:00</CreDtTm></GrpHdr><Ntfctn><Id>BENCH-1</Id>"
        "<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>"
    )
    return (head + "".join(body) + "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


def _status_mb(key):
    """Return a ``/proc/self/status`` memory value (kB) in MB, or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss():
    """Reset the peak RSS so that it measures the read only (Linux; no-op elsewhere)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def rss_mb():
    """Return the current resident set size of this process in MB."""
    return _status_mb("VmRSS") or 0.0


def peak_rss_mb():
    """Return the peak resident set size in MB (since :func:`reset_peak_rss` on Linux)."""
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(count, layout):
    """Generate, read and check one case; print one result line."""
    data = camt054(count, layout)
    reset_peak_rss()
    before = rss_mb()
    started = time.perf_counter()
    result = read_message(data)
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    assert len(result.transactions) == count
    assert sum(tx.amount for tx in result.transactions) == sum(amount(n) for n in range(count))
    print(
        f"{count:>7,} returns  {layout:<8} {len(data) / 1e6:5.1f} MB XML  "
        f"read {seconds:6.2f} s  {count / seconds:>7,.0f} tx/s  "
        f"RSS before {before:6.1f} MB, peak during read {peak:6.1f} MB"
    )


def main():
    """Run every case in its own process, or one case with ``--case COUNT LAYOUT``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs=2, metavar=("COUNT", "LAYOUT"))
    args = parser.parse_args()
    if args.case:
        run_case(int(args.case[0]), args.case[1])
        return 0
    print("R-transaction reader: camt.054.001.04 returns (sepa.readers.read_message)")
    status = 0
    for count in SIZES:
        for layout in LAYOUTS:
            command = [sys.executable, __file__, "--case", str(count), layout]
            status |= subprocess.run(command, check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
