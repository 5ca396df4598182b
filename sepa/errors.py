"""Exceptions raised by the SEPA toolkit.

The toolkit never imports Odoo; callers translate these into their own errors.
"""


class SepaError(Exception):
    """Base class of every error raised by the toolkit."""

    def __init__(self, message, *, field=None, value=None):
        super().__init__(message)
        self.field = field
        self.value = value


class SepaValidationError(SepaError):
    """A value or a document does not satisfy the SEPA rules or the XSD."""


class SepaParseError(SepaError):
    """An input file cannot be read (broken, unsafe, too large or unknown)."""
