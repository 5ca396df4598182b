from . import sepa_mandate_wizard_mixin
from . import sepa_mandate_revoke
from . import sepa_mandate_reactivate
from . import sepa_batch_proposal
from . import sepa_storno_register
from . import sepa_return_import
from . import sepa_control
from . import sepa_storno_release
