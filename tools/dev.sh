#!/usr/bin/env bash
# Development and test environment of the sepa_direct_debit addon.
#
#   tools/dev.sh setup   Odoo source, system packages, .venv, PostgreSQL, odoo.conf
#   tools/dev.sh test    setup + fresh test database + the whole test suite (the Odoo tests
#                        with a local SMTP server: tools/smtp_sink.py)
#   tools/dev.sh run     setup + demo database $DEMO_DB (default sepa_dd_demo; Dutch chart
#                        l10n_nl; OCA's camt import and reconciliation, requirements-oca.txt)
#                        + Odoo on 127.0.0.1:$SEPA_HTTP_PORT (default 8069)
#   tools/dev.sh db NAME create NAME afresh with the addon installed (no demo data)
#   tools/dev.sh odoo-tests DB [TESTS...]  update the addon in DB, run those Odoo tests
#   tools/dev.sh oca-tests DB [TESTS...]   same with OCA's bank modules (requirements-oca.txt)
#                        next to the addon, DB created when missing; default tests/oca
#   tools/dev.sh test-oca  the OCA part of `make test` alone (fresh $TEST_DB, ${TEST_DB}_oca)
#   tools/dev.sh pot     export i18n/sepa_direct_debit.pot and merge it into i18n/nl.po
#
# Everything it creates lives in .venv/ and .build/ (both ignored by git), except the
# Odoo source (ODOO_SRC, default ~/.cache/odoo/18.0), the system packages and the
# addons-path folder: a symlink named sepa_direct_debit to this checkout, kept OUTSIDE
# the checkout (Odoo follows symlinks when it walks a module, a link inside would loop),
# and one named sepa_direct_debit_queue_job to its glue/ sub-folder of the same name.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-$HOME/.cache/odoo/18.0}
ODOO_REPO=${ODOO_REPO:-https://github.com/odoo/odoo.git}
BUILD=$ROOT/.build
ADDONS_DIR=${SEPA_ADDONS_DIR:-$HOME/.cache/sepa_direct_debit/addons-$(printf %s "$ROOT" | sha1sum | cut -c1-10)}
VENV=$ROOT/.venv
PY=$VENV/bin/python
CONF=$BUILD/odoo.conf
TEST_DB=${TEST_DB:-sepa_dd_test}
OCA_DIR=$BUILD/oca
OCA_ADDONS=$OCA_DIR/odoo/addons
OCA_MODULES=account_statement_import_camt,account_reconcile_oca,queue_job
DEMO_DB=${DEMO_DB:-sepa_dd_demo}
ADDON=sepa_direct_debit
# The glue module of OCA's queue_job (auto-installed where queue_job is installed, i.e.
# in the OCA test database and the demo): a sub-folder of this checkout, linked next to
# the addon in the addons-path folder.
GLUE=sepa_direct_debit_queue_job
APT_PACKAGES=(libldap2-dev libsasl2-dev libpq-dev postgresql chromium wkhtmltopdf)

say() { printf '\033[1m[sepa]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[sepa] %s\033[0m\n' "$*" >&2; exit 1; }

# --- Odoo source -----------------------------------------------------------------
ensure_odoo() {
    [ -f "$ODOO_SRC/odoo-bin" ] && return
    say "Odoo 18.0 not found in $ODOO_SRC: trying a shallow clone of the official branch"
    mkdir -p "$(dirname "$ODOO_SRC")"
    if ! timeout 900 git clone -q --depth 1 --branch 18.0 "$ODOO_REPO" "$ODOO_SRC"; then
        rm -rf "$ODOO_SRC"
        die "No Odoo 18.0 source. Put a vanilla Odoo 18.0 tree (with odoo-bin) in $ODOO_SRC
       or set ODOO_SRC=/path/to/odoo-18.0; DEVELOPERS.md says how to get one offline."
    fi
}

# --- system packages ---------------------------------------------------------------
ensure_packages() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        say "Installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "Missing system packages: ${missing[*]} (install them with apt as root)"
    fi
}

# --- virtualenv ----------------------------------------------------------------------
requirements_hash() {
    cat "$ODOO_SRC/requirements.txt" "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" \
        | sha1sum | cut -d' ' -f1
}

ensure_venv() {
    local want have=""
    want=$(requirements_hash)
    [ -f "$VENV/.requirements.sha1" ] && have=$(cat "$VENV/.requirements.sha1")
    if [ -x "$PY" ] && [ "$want" = "$have" ]; then
        link_odoo
        return
    fi
    say "Creating the virtualenv (.venv) with Odoo's and the addon's requirements"
    [ -x "$PY" ] || python3 -m venv "$VENV"
    mkdir -p "$BUILD"
    # cbor2 5.4.2 (Odoo's pin for Python < 3.12) no longer builds: take 5.6.2.
    sed 's/^cbor2==5\.4\.2/cbor2==5.6.2/' "$ODOO_SRC/requirements.txt" > "$BUILD/odoo-requirements.txt"
    "$PY" -m pip install -q --disable-pip-version-check -r "$BUILD/odoo-requirements.txt" \
        -r "$ROOT/requirements.txt" -r "$ROOT/requirements-dev.txt" 2> >(grep -v "is ignored" >&2)
    echo "$want" > "$VENV/.requirements.sha1"
    link_odoo
}

# Make `import odoo` work in the venv (pytest-odoo needs it): a .pth file to ODOO_SRC.
link_odoo() {
    local site
    site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$ODOO_SRC" > "$site/odoo-src.pth"
}

# --- PostgreSQL ------------------------------------------------------------------------
PG_ARGS=()
ensure_postgres() {
    if [ "$(id -u)" -eq 0 ] && command -v pg_lsclusters >/dev/null; then
        local version
        version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
        [ -n "$version" ] || die "No PostgreSQL cluster found (pg_lsclusters is empty)"
        pg_lsclusters -h | awk 'NR==1 {print $4}' | grep -q online \
            || pg_ctlcluster "$version" main start
        su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='root'\"" | grep -q 1 \
            || su postgres -c "createuser -s root"
        PG_ARGS=()
    else
        local bindir pgdata=$BUILD/pgdata sock=$BUILD/pgsock
        bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
        [ -n "$bindir" ] || die "PostgreSQL server binaries not found"
        mkdir -p "$sock"
        [ -d "$pgdata" ] || "$bindir/initdb" -q -D "$pgdata" -U "$(id -un)" --auth=trust
        "$bindir/pg_ctl" -D "$pgdata" status >/dev/null 2>&1 || "$bindir/pg_ctl" -D "$pgdata" \
            -l "$BUILD/postgres.log" -o "-k $sock -p 5439 -c listen_addresses=''" -w start >/dev/null
        PG_ARGS=(--db_host "$sock" --db_port 5439)
    fi
}

# --- Odoo configuration -------------------------------------------------------------------
write_config() {
    mkdir -p "$ADDONS_DIR" "$BUILD/data"
    ln -sfn "$ROOT" "$ADDONS_DIR/$ADDON"
    ln -sfn "$ROOT/glue/$GLUE" "$ADDONS_DIR/$GLUE"
    local host=False port=False
    if [ ${#PG_ARGS[@]} -gt 0 ]; then host=${PG_ARGS[1]}; port=${PG_ARGS[3]}; fi
    cat > "$CONF" <<EOF
[options]
addons_path = $ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_DIR
data_dir = $BUILD/data
db_host = $host
db_port = $port
admin_passwd = admin
http_interface = 127.0.0.1
http_port = ${SEPA_HTTP_PORT:-8069}
max_cron_threads = 0
log_level = warn
EOF
}

setup() {
    local start=$SECONDS
    ensure_odoo
    ensure_packages
    ensure_venv
    ensure_postgres
    write_config
    say "Set-up done in $((SECONDS - start)) s"
}

odoo() { "$PY" "$ODOO_SRC/odoo-bin" -c "$CONF" "$@"; }

dropdb_if_exists() {
    "$PY" "$ROOT/tools/pgdb.py" "$CONF" drop "$1"
    rm -rf "$BUILD/data/filestore/$1"
}

create_db() {
    local db=$1
    dropdb_if_exists "$db"
    odoo -d "$db" -i "$ADDON" --without-demo=all --stop-after-init --log-level=warn
}

# --- local SMTP server of the tests ------------------------------------------------------
# tools/smtp_sink.py (aiosmtpd) on 127.0.0.1, on a free port, saving every message it
# receives as .eml into .build/smtp/<database>/ (emptied at each start, kept afterwards).
# The tests find it through SEPA_TEST_SMTP_PORT and SEPA_TEST_SMTP_DIR (tests/common.py,
# SmtpCaseMixin) and fail without it. Stopped when the script exits.
SMTP_PID=""
start_smtp() {
    local dir=$BUILD/smtp/$1 waited=0
    stop_smtp
    rm -rf "$dir" && mkdir -p "$dir"
    "$PY" "$ROOT/tools/smtp_sink.py" "$dir" &
    SMTP_PID=$!
    trap stop_smtp EXIT
    while [ ! -f "$dir/port" ]; do
        kill -0 "$SMTP_PID" 2>/dev/null || die "The test SMTP server (tools/smtp_sink.py) did not start"
        [ $waited -lt 300 ] || die "The test SMTP server (tools/smtp_sink.py) did not start in 30 s"
        sleep 0.1
        waited=$((waited + 1))
    done
    SEPA_TEST_SMTP_PORT=$(cat "$dir/port")
    export SEPA_TEST_SMTP_PORT SEPA_TEST_SMTP_DIR=$dir
    say "Test SMTP server on 127.0.0.1:$SEPA_TEST_SMTP_PORT, messages in ${dir#"$ROOT"/}"
}

stop_smtp() {
    if [ -n "$SMTP_PID" ]; then
        kill "$SMTP_PID" 2>/dev/null || true
        wait "$SMTP_PID" 2>/dev/null || true
        SMTP_PID=""
    fi
}

# --- OCA bank modules (integration tests and the demo) -------------------------------
# The 18.0 wheels of requirements-oca.txt (the bank modules and queue_job, whose glue
# module sepa_direct_debit_queue_job installs itself next to it), installed without
# dependencies into
# .build/oca; their addons folder is put on the addons path of the OCA test database and
# of the demo only (command line), never in odoo.conf. Installed again only when the pins
# change. `ensure_oca demo`: the message for `make run`, which goes on without them.
ensure_oca() {
    local purpose=${1:-tests}
    local want have=""
    want=$(sha1sum "$ROOT/requirements-oca.txt" | cut -d' ' -f1)
    [ -f "$OCA_DIR/.requirements.sha1" ] && have=$(cat "$OCA_DIR/.requirements.sha1")
    [ "$want" = "$have" ] && [ -d "$OCA_ADDONS" ] && return 0
    say "Installing OCA's bank modules (requirements-oca.txt) into .build/oca"
    local start=$SECONDS
    rm -rf "$OCA_DIR"
    if ! "$PY" -m pip install -q --disable-pip-version-check --retries 2 --timeout 20 \
            --no-deps --target "$OCA_DIR" \
            -r "$ROOT/requirements-oca.txt" 2> >(grep -v "is ignored" >&2); then
        rm -rf "$OCA_DIR"
        if [ "$purpose" = demo ]; then
            printf '\033[31m[sepa] %s\033[0m\n' "Could not install OCA's bank modules of \
requirements-oca.txt (no network to PyPI?). The demo runs WITHOUT them: no camt.053
       statement import and no reconciliation screen (README, \"Bank statements in Odoo
       Community\"). Offline, point pip at a folder holding those wheels:
       PIP_NO_INDEX=1 PIP_FIND_LINKS=/path/to/wheels make run (DEVELOPERS.md)." >&2
        else
            printf '\033[31m[sepa] %s\033[0m\n' "Could not install the OCA wheels of \
requirements-oca.txt (no network to PyPI?). The OCA integration tests cannot run: this
       counts as a failure, not a skip. Offline, point pip at a folder holding those wheels:
       PIP_NO_INDEX=1 PIP_FIND_LINKS=/path/to/wheels make test (DEVELOPERS.md)." >&2
        fi
        return 1
    fi
    echo "$want" > "$OCA_DIR/.requirements.sha1"
    say "OCA modules installed in $((SECONDS - start)) s"
}

odoo_oca() { odoo --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_DIR,$OCA_ADDONS" "$@"; }

# A fresh database with the addon and the OCA modules (tools/dev.sh oca-tests).
create_oca_db() {
    local db=$1
    dropdb_if_exists "$db"
    odoo_oca -d "$db" -i "$ADDON,$OCA_MODULES" --without-demo=all --stop-after-init \
        --log-level=warn
}

# The OCA database of `make test`, ${TEST_DB}_oca: a copy of the freshly created $TEST_DB
# (made before any test ran in it) with the OCA modules installed on top. The same
# modules as create_oca_db, about 4 times cheaper than installing everything again
# (46 s instead of 214 s on the loaded 2-core machine; DEVELOPERS.md).
prepare_oca_db() {
    local db=${TEST_DB}_oca step=$SECONDS
    ensure_oca || return 1
    say "OCA test database $db: a copy of $TEST_DB + $OCA_MODULES"
    dropdb_if_exists "$db"
    "$PY" "$ROOT/tools/pgdb.py" "$CONF" clone "$db" "$TEST_DB" || return 1
    if [ -d "$BUILD/data/filestore/$TEST_DB" ]; then
        cp -a "$BUILD/data/filestore/$TEST_DB" "$BUILD/data/filestore/$db" || return 1
    fi
    odoo_oca -d "$db" -i "$OCA_MODULES" --without-demo=all --stop-after-init \
        --log-level=warn || return 1
    say "OCA database ready in $((SECONDS - step)) s"
}

# pytest-odoo over the OCA tests against DB (which has the OCA modules), JUnit XML to $2.
pytest_oca() {
    local db=$1 junit=$2; shift 2
    "$PY" -m pytest -q -p no:cacheprovider --rootdir="$ADDONS_DIR/$ADDON" \
        --odoo-database="$db" --odoo-config="${RUN_CONF:-$CONF}" --odoo-http \
        --odoo-addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_DIR,$OCA_ADDONS" \
        ${junit:+--junitxml="$junit"} -rs "$@"
}

# The OCA step of `make test` on the database prepare_oca_db made: tests/oca, no skips.
run_oca_tests() {
    local step=$SECONDS status=0
    say "OCA integration tests (account_statement_import_camt, account_reconcile_oca, queue_job)"
    rm -f "$BUILD/oca-tests.xml"
    start_smtp "${TEST_DB}_oca"
    pytest_oca "${TEST_DB}_oca" "$BUILD/oca-tests.xml" "$ADDONS_DIR/$ADDON/tests/oca" \
        || status=1
    "$PY" "$ROOT/tools/no_skips.py" "$BUILD/oca-tests.xml" || status=1
    say "OCA tests: $((SECONDS - step)) s"
    return $status
}

# `make test-oca`: the OCA part of `make test` alone (fresh $TEST_DB, its copy, the tests).
test_oca() {
    setup
    create_db "$TEST_DB"
    prepare_oca_db || exit 1
    run_oca_tests
}

# The Odoo tests of `make test` run in two shards at once (the machine has two cores):
# the test files alternately, each shard on its own copy of the fresh test database, with
# its own HTTP port (Chromium tours) and its own SMTP server. The second shard then runs the
# OCA tests. Each shard prints into its log, shown when it ends.
shard_files() {
    local shard=$1 index=0 file
    for file in "$ADDONS_DIR/$ADDON"/tests/test_*.py; do
        [ $((index % 2)) -eq "$shard" ] && printf '%s\n' "$file"
        index=$((index + 1))
    done
}

# A copy of the fresh $TEST_DB (database and filestore) for shard 2: DB NAME.
clone_test_db() {
    local db=$1
    dropdb_if_exists "$db"
    "$PY" "$ROOT/tools/pgdb.py" "$CONF" clone "$db" "$TEST_DB" || return 1
    if [ -d "$BUILD/data/filestore/$TEST_DB" ]; then
        cp -a "$BUILD/data/filestore/$TEST_DB" "$BUILD/data/filestore/$db" || return 1
    fi
}

# Shard SHARD (0 or 1) of the Odoo tests against DB with config file CONF_FILE.
run_shard() {
    local shard=$1 db=$2 conf=$3 status=0 files
    mapfile -t files < <(shard_files "$shard")
    start_smtp "$db"
    "$PY" -m pytest -q -p no:cacheprovider --rootdir="$ADDONS_DIR/$ADDON" \
        --odoo-database="$db" --odoo-config="$conf" --odoo-http \
        --junitxml="$BUILD/odoo-tests-$shard.xml" -rs "${files[@]}" || status=1
    "$PY" "$ROOT/tools/no_skips.py" "$BUILD/odoo-tests-$shard.xml" || status=1
    stop_smtp
    return $status
}

run_tests() {
    local start=$SECONDS setup_time tests_start status=0
    setup
    setup_time=$((SECONDS - start))
    tests_start=$SECONDS
    say "Lint (ruff)"
    "$VENV/bin/ruff" check "$ROOT" || status=1
    "$PY" "$ROOT/tools/check_translations.py" || status=1
    say "SEPA toolkit tests (no database), while the test database is created"
    (cd "$ROOT" && "$PY" -m pytest -q -p no:odoo -p no:cacheprovider tests/sepa) \
        > "$BUILD/toolkit-tests.log" 2>&1 &
    local toolkit=$!
    local db_start=$SECONDS
    create_db "$TEST_DB"
    say "Database $TEST_DB ready in $((SECONDS - db_start)) s"
    wait $toolkit || status=1
    cat "$BUILD/toolkit-tests.log"
    local oca_ready=yes shard_db=${TEST_DB}_2 shard_conf=$BUILD/odoo-shard2.conf
    prepare_oca_db || oca_ready=no
    clone_test_db "$shard_db" || status=1
    sed "s/^http_port = .*/http_port = $((${SEPA_HTTP_PORT:-8069} + 1))/" "$CONF" > "$shard_conf"
    say "Odoo tests (pytest-odoo, --odoo-http) in two shards at once; then the OCA tests"
    rm -f "$BUILD"/odoo-tests-*.xml
    (run_shard 0 "$TEST_DB" "$CONF") > "$BUILD/odoo-tests-0.log" 2>&1 &
    local first=$!
    (
        shard=0
        run_shard 1 "$shard_db" "$shard_conf" || shard=1
        if [ $oca_ready = yes ]; then
            RUN_CONF=$shard_conf run_oca_tests || shard=1
        else
            printf '\033[31m[sepa] %s\033[0m\n' "OCA integration tests NOT run (see above): failure" >&2
            shard=1
        fi
        exit $shard
    ) > "$BUILD/odoo-tests-1.log" 2>&1 &
    local second=$!
    wait $first || status=1
    say "Shard 1 of the Odoo tests:"
    cat "$BUILD/odoo-tests-0.log"
    wait $second || status=1
    say "Shard 2 of the Odoo tests, then the OCA tests:"
    cat "$BUILD/odoo-tests-1.log"
    say "Timings: set-up $setup_time s, tests $((SECONDS - tests_start)) s"
    [ $status -eq 0 ] && say "All tests passed" || say "TESTS FAILED"
    return $status
}

run_demo() {
    setup
    # OCA's statement import (camt.053) and reconciliation screen, on the demo's addons
    # path only (command line, as odoo_oca; never odoo.conf, never a dependency of the
    # addon): installed into the demo database, a new one or an existing one (idempotent:
    # -i skips installed modules). Offline, the demo runs without them.
    local run=odoo modules=$ADDON exists
    if ensure_oca demo; then
        run=odoo_oca
        modules=$ADDON,$OCA_MODULES
    fi
    exists=$("$PY" "$ROOT/tools/pgdb.py" "$CONF" exists "$DEMO_DB")
    if [ "$exists" = yes ]; then
        if [ $run = odoo_oca ]; then
            say "Upgrading $ADDON in $DEMO_DB, installing $OCA_MODULES where missing"
            odoo_oca -d "$DEMO_DB" -u "$ADDON" -i "$OCA_MODULES" --stop-after-init
        else
            say "Upgrading $ADDON in $DEMO_DB"
            odoo -d "$DEMO_DB" -u "$ADDON" --stop-after-init
        fi
    else
        # The demo association keeps its books on the Dutch chart (Dutch VAT): l10n_nl
        # (Odoo Community) first, so that the addon's demo data finds it. The addon itself
        # does not depend on it.
        say "Creating the demo database $DEMO_DB (with demo data, Dutch chart l10n_nl)"
        odoo -d "$DEMO_DB" -i l10n_nl --stop-after-init
        "$run" -d "$DEMO_DB" -i "$modules" --stop-after-init
    fi
    say "Odoo serves on http://127.0.0.1:${SEPA_HTTP_PORT:-8069}  (database $DEMO_DB, login admin / admin)"
    # With OCA's queue_job (and so sepa_direct_debit_queue_job) its job runner is loaded
    # server-wide; one process, the README says how to run it for large batches.
    local load=()
    [ $run = odoo_oca ] && load=(--load=base,web,queue_job)
    "$run" -d "$DEMO_DB" --db-filter="^$DEMO_DB\$" --max-cron-threads=1 --log-level=info \
        "${load[@]}"
}

export_pot() {
    # Export from a clean copy of the tracked files: Odoo walks the whole module folder,
    # which here holds .venv/ and .build/.
    setup
    local copy=$BUILD/pot-addons db=sepa_dd_pot
    rm -rf "$copy" && mkdir -p "$copy/$ADDON"
    # glue/ holds another module (sepa_direct_debit_queue_job): not the addon's terms.
    (cd "$ROOT" && git ls-files -co --exclude-standard | grep -v '^glue/' | tar -cf - -T -) \
        | tar -xf - -C "$copy/$ADDON"
    dropdb_if_exists "$db"
    odoo --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$copy" -d "$db" -i "$ADDON" \
        --without-demo=all --stop-after-init
    # Odoo logs a source file it cannot read (e.g. an f-string argument of _()) and goes
    # on without its terms: that must stop the export.
    odoo --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$copy" -d "$db" \
        --i18n-export="$ROOT/i18n/$ADDON.pot" --modules="$ADDON" --stop-after-init \
        2>&1 | tee "$BUILD/pot-export.log"
    if grep -q "Failed to extract terms" "$BUILD/pot-export.log"; then
        dropdb_if_exists "$db"
        die "Terms of some files could not be extracted (see above): fix them and export again"
    fi
    dropdb_if_exists "$db"
    rm -rf "$copy"
    "$PY" "$ROOT/tools/update_po.py"
}

# Selected Odoo tests against an existing database, the addon updated first:
#   tools/dev.sh odoo-tests DB tests/test_batch_cycle.py -k settle
odoo_tests() {
    setup
    local db=$1; shift
    odoo -d "$db" -u "$ADDON" --stop-after-init --log-level=warn
    local args=() arg
    for arg in "$@"; do
        case "$arg" in tests|tests/*) args+=("$ADDONS_DIR/$ADDON/$arg") ;; *) args+=("$arg") ;; esac
    done
    start_smtp "$db"
    "$PY" -m pytest -q -p no:cacheprovider --rootdir="$ADDONS_DIR/$ADDON" \
        --odoo-database="$db" --odoo-config="$CONF" --odoo-http \
        --ignore="$ADDONS_DIR/$ADDON/tests/sepa" --ignore="$ADDONS_DIR/$ADDON/tests/oca" \
        "${args[@]}"
}

# The OCA integration tests against DB (created with the OCA modules when missing, else
# the addon updated):  tools/dev.sh oca-tests sepa_dd_oca tests/oca/test_camt_import.py
oca_tests() {
    setup
    ensure_oca || exit 1
    local db=$1; shift
    if [ "$("$PY" "$ROOT/tools/pgdb.py" "$CONF" exists "$db")" = yes ]; then
        odoo_oca -d "$db" -u "$ADDON" -i "$OCA_MODULES" --stop-after-init --log-level=warn
    else
        say "Creating $db with the addon and $OCA_MODULES"
        create_oca_db "$db"
    fi
    local args=() arg
    for arg in "${@:-tests/oca}"; do
        case "$arg" in tests/*) args+=("$ADDONS_DIR/$ADDON/$arg") ;; *) args+=("$arg") ;; esac
    done
    start_smtp "$db"
    pytest_oca "$db" "" "${args[@]}"
}

bench_batch() {
    setup
    local db=${BENCH_DB:-sepa_dd_bench}
    create_db "$db"
    "$PY" "$ROOT/bench/batch_cycle.py" -c "$CONF" -d "$db" -n "${1:-10000}" ${2:+--dump "$2"} \
        ${BENCH_PROFILE:+--profile "$BENCH_PROFILE"}
}

# Each size: the settled batch is built once (one process) into the template database
# ${db}_r<size>, copied to ${db}, and the import is timed in a fresh process (its peak RSS
# is the import's). BENCH_REUSE=1 reuses an existing template (only for changes of Python
# code: the template's addon is not updated).
bench_stornos() {
    setup
    local db=${BENCH_DB:-sepa_dd_bench} size template
    for size in "$@"; do
        template="${db}_r${size}"
        if [ "${BENCH_REUSE:-0}" != 1 ] \
                || [ "$("$PY" "$ROOT/tools/pgdb.py" "$CONF" exists "$template")" != yes ]; then
            create_db "$template"
            "$PY" "$ROOT/bench/stornos.py" -c "$CONF" -d "$template" -n "$size" --setup-only
        fi
        dropdb_if_exists "$db"
        "$PY" "$ROOT/tools/pgdb.py" "$CONF" clone "$db" "$template"
        rm -rf "$BUILD/data/filestore/$db"
        if [ -d "$BUILD/data/filestore/$template" ]; then
            cp -r "$BUILD/data/filestore/$template" "$BUILD/data/filestore/$db"
        fi
        "$PY" "$ROOT/bench/stornos.py" -c "$CONF" -d "$db" -n "$size" --import-only
    done
}

# N existing mandates imported as the import dialog does (Test, then import), in a fresh
# database: make bench-import N=10000
bench_import() {
    setup
    local db=${BENCH_DB:-sepa_dd_bench}
    create_db "$db"
    "$PY" "$ROOT/bench/mandate_import.py" -c "$CONF" -d "$db" -n "${1:-10000}"
}

bench_storno_report() {
    setup
    local db=${BENCH_DB:-sepa_dd_bench}
    create_db "$db"
    "$PY" "$ROOT/bench/storno_report.py" -c "$CONF" -d "$db" -n "${1:-100000}"
}

# A batch of N debits generated and posted by OCA's job queue (README, "Background jobs
# on OCA's queue_job"): a fresh database with the addon and queue_job, an Odoo server
# beside it with workers and the job runner (--load=base,web,queue_job; its log in
# .build/bench-queue-job-server.log), bench/queue_job_cycle.py clicking and waiting.
bench_queue_job() {
    setup
    ensure_oca || exit 1
    local db=${BENCH_DB:-sepa_dd_bench}_qj server status=0
    dropdb_if_exists "$db"
    odoo_oca -d "$db" -i "$ADDON,queue_job" --without-demo=all --stop-after-init \
        --log-level=warn
    ODOO_QUEUE_JOB_CHANNELS=root:2,root.sepa:1 "$PY" "$ODOO_SRC/odoo-bin" -c "$CONF" \
        --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_DIR,$OCA_ADDONS" \
        -d "$db" --db-filter="^$db\$" --workers=2 --max-cron-threads=0 \
        --load=base,web,queue_job --limit-time-real=1200 --log-level=info \
        > "$BUILD/bench-queue-job-server.log" 2>&1 &
    server=$!
    BENCH_NOTICE_MAIL=0 "$PY" "$ROOT/bench/queue_job_cycle.py" -c "$CONF" -d "$db" \
        -n "${1:-10000}" \
        --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_DIR,$OCA_ADDONS" \
        || status=1
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    return $status
}

case "${1:-}" in
    setup) setup ;;
    test) run_tests ;;
    test-oca) test_oca ;;
    run) run_demo ;;
    db) setup; create_db "${2:?database name}" ;;
    pot) export_pot ;;
    bench-batch) bench_batch "${2:-10000}" "${3:-}" ;;
    bench-stornos) shift; bench_stornos "${@:-1000 5000}" ;;
    bench-storno-report) bench_storno_report "${2:-100000}" ;;
    bench-import) bench_import "${2:-10000}" ;;
    bench-queue-job) bench_queue_job "${2:-10000}" ;;
    odoo-tests) shift; odoo_tests "$@" ;;
    oca-tests) shift; oca_tests "${@:?database name}" ;;
    *) die "usage: tools/dev.sh setup|test|run|db NAME|pot|bench-batch N|bench-stornos [R...]|bench-storno-report [N]|bench-import [N]|bench-queue-job [N]|odoo-tests DB [TESTS]|oca-tests DB [TESTS]|test-oca" ;;
esac
