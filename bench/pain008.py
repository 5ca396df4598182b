"""Benchmark: pain.008 export of 1,000 / 10,000 / 100,000 debits, ours vs sepaxml.

Run from the addon root: ``python bench/pain008.py [--sizes 1000 10000 100000]``.

Every measurement runs in its own child process so that its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the child) is honest. Each child
builds the same input (``sepa.sample.sample_batch(n, seed=1)``, debits with accented
names, addresses, several PmtInf); the timer covers only the export:

* ``ours``: ``write_pain008(batch)`` -- business-rule checks, streaming writer and XSD
  validation of the bytes;
* ``sepaxml``: ``SepaDD(config)``, ``add_payment`` for every debit and
  ``export(validate=False)`` (sepaxml has no amendment support: amended debits are sent
  without their amendment);
* ``sepaxml+xsd``: the same with ``export(validate=True)``, for the small sizes only.

Goal at 100,000 debits: ours at least 3x faster than sepaxml without validation, and a
peak RSS below 300 MB.
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time

ADDON_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TODAY = datetime.date(2025, 3, 3)
VALIDATED_SEPAXML_MAX = 10_000


def _peak_mb():
    """Peak resident memory of this process in MB (ru_maxrss is in KB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _sepaxml_input(batch):
    """The sepaxml config and payment dicts equivalent to ``batch``."""
    creditor = batch.creditor
    config = {
        "name": creditor.name, "IBAN": creditor.iban, "BIC": creditor.bic, "batch": True,
        "creditor_id": creditor.creditor_id, "currency": "EUR",
    }
    payments = []
    for block in batch.blocks:
        for debit in block.debits:
            payments.append(_sepaxml_payment(block, debit))
    return config, payments


def _sepaxml_payment(block, debit):
    """One sepaxml payment dict."""
    payment = {
        "name": debit.debtor_name, "IBAN": debit.debtor_iban,
        "amount": int(debit.amount.scaleb(2)), "type": block.sequence_type,
        "collection_date": block.collection_date, "mandate_id": debit.mandate_id,
        "mandate_date": debit.signature_date, "description": debit.remittance or "",
        "endtoend_id": debit.end_to_end_id,
    }
    if debit.debtor_bic:
        payment["BIC"] = debit.debtor_bic
    address = debit.debtor_address
    if address is not None:
        payment["address"] = {
            "street_name": address.street, "building_number": address.building_number,
            "postcode": address.postcode, "town": address.town, "country": address.country,
        }
    return payment


def run_child(impl, n, version):
    """Build the input, time one export, print a JSON result line."""
    sys.path.insert(0, ADDON_ROOT)
    from sepa.pain008 import write_pain008
    from sepa.sample import sample_batch

    batch = sample_batch(n, seed=1, today=TODAY)
    if impl == "ours":
        start, cpu_start = time.perf_counter(), time.process_time()
        data = write_pain008(batch, version, today=TODAY, validate=True)
    else:
        from sepaxml import SepaDD

        config, payments = _sepaxml_input(batch)
        del batch
        start, cpu_start = time.perf_counter(), time.process_time()
        exporter = SepaDD(config, schema=version, clean=True)
        for payment in payments:
            exporter.add_payment(payment)
        data = exporter.export(validate=impl == "sepaxml+xsd")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"impl": impl, "n": n, "seconds": seconds, "cpu": cpu,
                      "peak_mb": _peak_mb(), "bytes": len(data)}))


def measure(impl, n, version):
    """Run one measurement in a child process and return its result dict."""
    command = [sys.executable, os.path.abspath(__file__), "--child", impl, str(n),
               "--version", version]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ADDON_ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{impl} {n} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    """Parse the arguments and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--version", default="pain.008.001.02")
    parser.add_argument("--child", nargs=2, metavar=("IMPL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child[0], int(args.child[1]), args.version)
        return 0
    print(f"pain.008 export, {args.version} (each run in its own process)")
    print(f"{'debits':>8} {'implementation':<30} {'seconds':>8} {'CPU s':>7} {'peak MB':>8} "
          f"{'MB out':>7}")
    for n in args.sizes:
        results = {}
        impls = ["ours", "sepaxml"] + (["sepaxml+xsd"] if n <= VALIDATED_SEPAXML_MAX else [])
        for impl in impls:
            result = results[impl] = measure(impl, n, args.version)
            label = {"ours": "ours (checks + XSD validation)",
                     "sepaxml": "sepaxml (no validation)",
                     "sepaxml+xsd": "sepaxml (validate=True)"}[impl]
            print(f"{n:>8} {label:<30} {result['seconds']:>8.2f} {result['cpu']:>7.2f} "
                  f"{result['peak_mb']:>8.0f} {result['bytes'] / 1e6:>7.1f}")
        ratio = results["sepaxml"]["seconds"] / results["ours"]["seconds"]
        cpu_ratio = results["sepaxml"]["cpu"] / results["ours"]["cpu"]
        print(f"{n:>8} {'ratio sepaxml / ours':<30} {ratio:>7.1f}x {cpu_ratio:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
