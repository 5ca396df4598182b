from . import portal_mandate_sign
