# Integration tests with OCA's bank modules (account_statement_import_camt,
# account_reconcile_oca). They run only in their own database, where those modules are
# installed next to the addon (`tools/dev.sh oca-tests`, part of `make test`): the main
# test run ignores this folder and tests/__init__.py does not import it.
