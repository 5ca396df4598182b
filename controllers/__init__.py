from . import sample_statement
