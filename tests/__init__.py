from . import test_mandate_lifecycle
from . import test_mandate_amendment
from . import test_mandate_expiry
from . import test_partner_direct_debit
from . import test_company_settings
from . import test_security
from . import test_mandate_report
from . import test_tour
