from . import portal
from . import portal_mandate_sign
