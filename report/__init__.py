from . import sepa_storno_report
