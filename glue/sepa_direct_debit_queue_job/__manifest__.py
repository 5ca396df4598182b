{
    "name": "SEPA Direct Debit on the Job Queue",
    "summary": "Runs the background work of SEPA Direct Debit on OCA's queue_job",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "AGPL-3",
    "author": "sepa_direct_debit contributors",
    "development_status": "Alpha",
    "depends": ["sepa_direct_debit", "queue_job"],
    "data": [
        "data/queue_job_data.xml",
    ],
    "auto_install": True,
    "installable": True,
}
