"""Values shared by the models and wizards: the direct debit users' group and the
selection lists, built from the toolkit's single definitions (``sepa/``).

The labels are English: Odoo translates a selection's labels itself (they are exported
with the field's selection values).
"""

from .sepa.model import SCHEME_LABELS, SEQUENCE_TYPE_LABELS
from .sepa.pain008 import DEFAULT_VERSION, WRITER_VERSIONS

#: Group of the users who see and run direct debits.
SEPA_GROUP = "sepa_direct_debit.group_sepa_user"

#: pain.008 versions the addon writes; the default of a company.
PAIN_VERSIONS = [(version, version) for version in WRITER_VERSIONS]
DEFAULT_PAIN_VERSION = DEFAULT_VERSION

#: SEPA Direct Debit schemes (CORE, B2B).
SCHEMES = list(SCHEME_LABELS.items())

#: Sequence types of a debit (FRST, RCUR, OOFF, FNAL), in the rulebook's order.
SEQUENCE_TYPES = list(SEQUENCE_TYPE_LABELS.items())
