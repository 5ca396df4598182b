"""Command line: ``python -m sepa {read,check,write,sample}`` (run from the addon root).

``read FILE``
    Print ONE JSON object with the R-transactions and batch credits of a camt.053,
    camt.054 or pain.002 file.

``check FILE [--transactions]``
    Check a pain.008 file and print a JSON report: ``message``, ``msg_id``,
    ``xsd_valid`` (null when the version's XSD does not ship, e.g. the German
    pain.008.002.02 / pain.008.003.02), ``errors``, ``valid``, ``nb_of_txs`` and
    ``ctrl_sum`` (as declared), ``computed_nb_of_txs``, ``computed_sum`` and
    ``payment_infos`` (``pmt_inf_id``, ``seq_tp``, ``local_instrument``,
    ``reqd_colltn_dt``, ``nb_of_txs``, ``ctrl_sum``, ``creditor_scheme_id``, ...).
    Exit status 0 when valid, 1 when not.

``write BATCH.json [--version V] [--today YYYY-MM-DD] [--compact] [--no-validate]``
    Write the pain.008 XML of a batch described in JSON to stdout. The JSON object uses
    the field names of :mod:`sepa.model` (full example: ``docs/batch-example.json``)::

        {"msg_id": "SDD-2030-01-001", "creation_time": "2029-12-20T10:00:00",
         "initiating_party": "Vereniging Sportclub Zuidoost", "batch_booking": true,
         "creditor": {"name": "Vereniging Sportclub Zuidoost",
                      "iban": "NL91ABNA0417164300", "bic": "ABNANL2A",
                      "creditor_id": "NL08ZZZ502057730000",
                      "address": {"country": "NL", "street": "Dorpsstraat",
                                  "building_number": "12", "postcode": "1234 AB",
                                  "town": "Ons Dorp"}},
         "blocks": [
           {"pmt_inf_id": "SDD-2030-01-001-P1", "collection_date": "2030-01-15",
            "sequence_type": "FRST", "scheme": "CORE",
            "debits": [
              {"end_to_end_id": "SDD-2030-01-001-1", "amount": "25.00",
               "mandate_id": "MDT-0000042", "signature_date": "2029-11-30",
               "debtor_name": "Émilie Groß", "debtor_iban": "DE89370400440532013000",
               "debtor_bic": "COBADEFFXXX", "debtor_address": null,
               "remittance": "Contributie januari 2030, factuur INV/2030/00001",
               "amendment": {"original_mandate_id": "OLD-0000042",
                             "original_creditor_id": null,
                             "original_creditor_name": null,
                             "original_debtor_iban": null, "smnda": true}}]}]}

    Instead of ``blocks`` a flat ``debits`` list may be given whose items also have
    ``collection_date``, ``sequence_type`` and ``scheme``; they are grouped into one
    PmtInf per (collection date, sequence type, scheme) with PmtInfIds ``<msg_id>-P1``,
    ``-P2``, ... Amounts are decimal strings; optional keys may be omitted or null.

``sample N [--version V] [--seed S] [--today YYYY-MM-DD] [--compact]``
    Write a realistic valid batch of N debits (several PmtInf, FRST/RCUR/OOFF/FNAL,
    amendments, accented names), the same for the same N, seed and day.

Bad input (unreadable, broken or unsafe XML, unknown message, invalid batch) prints one
line on stderr and exits with status 2.
"""

import argparse
import datetime
import decimal
import json
import os
import sys

from .errors import SepaError
from .inspect import MAX_INSPECT_BYTES
from .pain008 import DEFAULT_VERSION, WRITER_VERSIONS

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


def main(argv=None):
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:
        # The reader of stdout went away (e.g. ``| head``): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INVALID
    except (SepaError, OSError, ValueError) as exc:
        return _fail(exc)


def _parser():
    """The argparse parser of the four commands."""
    parser = argparse.ArgumentParser(
        prog="python -m sepa", description="SEPA Direct Debit toolkit (pain.008, returns).")
    commands = parser.add_subparsers(dest="command", required=True)

    read = commands.add_parser("read", help="read a camt.053/054 or pain.002 file (JSON)")
    read.add_argument("file")
    read.set_defaults(handler=_read)

    check = commands.add_parser("check", help="check a pain.008 file (JSON report)")
    check.add_argument("file")
    check.add_argument("--transactions", action="store_true",
                       help="also list every transaction")
    check.set_defaults(handler=_check)

    write = commands.add_parser("write", help="write pain.008 XML from a batch JSON file")
    write.add_argument("file", help="batch JSON (see docs/batch-example.json); - for stdin")
    _add_output_options(write)
    write.add_argument("--no-validate", action="store_true",
                       help="skip the XSD validation (the business rules are still checked)")
    write.set_defaults(handler=_write)

    sample = commands.add_parser("sample", help="write a realistic sample pain.008")
    sample.add_argument("n", type=_positive_int, help="number of debits")
    sample.add_argument("--seed", type=int, default=0)
    _add_output_options(sample)
    sample.set_defaults(handler=_sample)
    return parser


def _add_output_options(parser):
    """Options shared by ``write`` and ``sample``."""
    parser.add_argument("--version", default=DEFAULT_VERSION, choices=WRITER_VERSIONS)
    parser.add_argument("--today", type=_date, default=None,
                        help="date the collection dates are checked against (default: today)")
    parser.add_argument("--compact", action="store_true", help="no indentation")


def _positive_int(text):
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _date(text):
    """argparse type: a YYYY-MM-DD date."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _fail(exc):
    """Print a one-line error on stderr; return the bad-input exit status."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _read(args):
    """``read``: delegate to the reader's command."""
    from .cli_read import run as run_read

    return run_read(args.file)


def _check(args):
    """``check``: print the JSON report of a pain.008 file."""
    from .inspect import inspect_pain008

    data = _read_bytes(args.file, MAX_INSPECT_BYTES)
    report = inspect_pain008(data, transactions=args.transactions)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if report["valid"] else EXIT_INVALID


def _read_bytes(path, max_bytes):
    """Read a file, refusing one larger than ``max_bytes``."""
    from .errors import SepaParseError

    size = os.path.getsize(path)
    if size > max_bytes:
        raise SepaParseError(f"{path} is {size} bytes, more than the limit of {max_bytes}")
    with open(path, "rb") as handle:
        return handle.read()


def _write(args):
    """``write``: build the XML of a batch JSON file."""
    from .model import batch_from_dict

    if args.file == "-":
        text = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as handle:
            text = handle.read()
    try:
        data = json.loads(text, parse_float=decimal.Decimal)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{args.file} is not valid JSON: {exc}") from exc
    _output(batch_from_dict(data), args, validate=not args.no_validate)
    return 0


def _sample(args):
    """``sample``: write a realistic batch of N debits."""
    from .sample import sample_batch

    _output(sample_batch(args.n, seed=args.seed, today=args.today), args, validate=True)
    return 0


def _output(batch, args, validate):
    """Write the XML of ``batch`` to stdout."""
    from .pain008 import write_pain008

    data = write_pain008(batch, args.version, today=args.today, validate=validate,
                         pretty=not args.compact)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    sys.exit(main())
