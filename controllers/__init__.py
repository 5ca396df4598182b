from . import portal
from . import portal_mandate_sign
from . import sample_statement
