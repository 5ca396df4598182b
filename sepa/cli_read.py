"""``python -m sepa read FILE``: print what a camt.053 / camt.054 / pain.002 file contains.

Prints ONE JSON object (``{"message": ..., "transactions": [...]}``, keys as in the shared
``EXPECTED.json``) and returns 0; on bad input prints a one-line error to stderr and
returns 2.
"""

import json
import os
import sys

from .errors import SepaError, SepaParseError
from .readers import DEFAULT_MAX_BYTES, read_message

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def read_file(path, max_bytes=DEFAULT_MAX_BYTES):
    """Return the bytes of ``path``, refusing files above ``max_bytes`` before reading."""
    size = os.stat(path).st_size
    if max_bytes is not None and size > max_bytes:
        raise SepaParseError(
            f"{path}: {size:,} bytes, more than the limit of {max_bytes:,} bytes",
            field="size",
            value=size,
        )
    with open(path, "rb") as handle:
        return handle.read(max_bytes + 1 if max_bytes is not None else -1)


def _one_line(message):
    """Return ``message`` on a single line."""
    return " ".join(str(message).split())


def run(path, max_bytes=DEFAULT_MAX_BYTES, stdout=None, stderr=None):
    """Read ``path`` and print its JSON to ``stdout``; return the exit code (0 or 2)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        result = read_message(read_file(path, max_bytes), max_bytes=max_bytes)
    except SepaError as exc:
        print(f"error: {_one_line(exc)}", file=stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot read {path}: {_one_line(exc.strerror or exc)}", file=stderr)
        return EXIT_BAD_INPUT
    json.dump(result.to_json_dict(), stdout, indent=2, ensure_ascii=False)
    stdout.write("\n")
    return EXIT_OK
