"""A large batch generated and posted by OCA's job queue, run by the real job runner.

Run with ``make bench-queue-job N=10000`` (``tools/dev.sh bench-queue-job``): a fresh
database with the addon and ``queue_job`` (so ``sepa_direct_debit_queue_job``), N
invoices made as ``bench/batch_cycle.py`` makes them, then the proposal and the batch
(each committed as a user's click). *Generate* and *Mark as Sent* each put a job in the
channel ``root.sepa`` instead of doing the work; the Odoo server that ``tools/dev.sh``
started beside it (``--workers=2 --load=base,web,queue_job``) runs them through its job
runner. Prints, per step, the time of the click, the wait until the job was done and
the job's own execution time (``queue.job.exec_time``).

    python bench/queue_job_cycle.py -c .build/odoo.conf -d sepa_dd_bench_qj -n 10000 \
        --addons-path=<Odoo's>,<the addons-path folder>,.build/oca/odoo/addons
"""

import argparse
import time

from batch_cycle import create_data, peak_rss_mb, setup_company  # bench/, beside it

import odoo
from odoo import SUPERUSER_ID, api

WAIT_LIMIT = 1800  # seconds


def wait_for_job(env, batch):
    """Poll (a new transaction each time) until the batch's last job is done or failed;
    return the job's values."""
    started = time.perf_counter()
    while time.perf_counter() - started < WAIT_LIMIT:
        env.cr.rollback()  # a fresh snapshot
        env.invalidate_all()
        job = env["queue.job"].search([
            ("model_name", "=", "sepa.batch"), ("method_name", "=", "_sepa_job_run")],
            order="id desc", limit=1)
        if job.state in ("done", "failed"):
            return job.read(["state", "channel", "exec_time", "result", "retry"])[0], \
                time.perf_counter() - started
        time.sleep(0.5)
    raise SystemExit(f"the job of {batch.name} did not end in {WAIT_LIMIT} s: is the "
                     "Odoo server with the job runner running?")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("--addons-path", required=True, help="with queue_job's folder")
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database,
                                    f"--addons-path={args.addons_path}"])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company, journal = setup_company(env)
        create_data(env, args.n)
        company.sepa_background_threshold = 0  # every batch on the job queue
        wizard = env["sepa.batch.proposal"].create({"journal_id": journal.id})
        wizard.action_propose()
        batch = env["sepa.batch"].browse(wizard.action_create_batch()["res_id"])
        cr.commit()
        print(f"batch {batch.name}: {len(batch.line_ids)} lines", flush=True)
        for label, action in (("generate", "action_generate"), ("post", "action_send")):
            started = time.perf_counter()
            getattr(batch, action)()
            cr.commit()
            click = time.perf_counter() - started
            print(f"{label}: click {click:.2f} s, job_state={batch.job_state}", flush=True)
            job, waited = wait_for_job(env, batch)
            batch.invalidate_recordset()
            print(f"{label}: job {job['state']} in channel {job['channel']} after "
                  f"{waited:.1f} s (exec_time {job['exec_time']:.1f} s, try {job['retry']}): "
                  f"{job['result']}; batch state={batch.state} job_state={batch.job_state}",
                  flush=True)
    print(f"peak_rss={peak_rss_mb():.0f} (this process, not the server)")


if __name__ == "__main__":
    main()
