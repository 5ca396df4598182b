from . import sepa_batch
from . import sepa_storno
from . import sepa_storno_mail
