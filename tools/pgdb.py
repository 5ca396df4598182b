"""Small database chores for tools/dev.sh: `exists NAME`, `drop NAME` and
`clone NAME TEMPLATE` (a new database NAME copied from TEMPLATE, which nobody may be
connected to).

Reads the connection settings from the Odoo configuration file given first.
"""

import configparser
import sys

import psycopg2


def connect(config_path):
    config = configparser.ConfigParser()
    config.read(config_path)
    options = config["options"]

    def option(name):
        value = options.get(name, "False")
        return None if value in ("", "False") else value

    connection = psycopg2.connect(
        dbname="postgres", host=option("db_host"), port=option("db_port"))
    connection.autocommit = True
    return connection


def main(config_path, command, name, template=None):
    connection = connect(config_path)
    with connection.cursor() as cr:
        if command == "exists":
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            print("yes" if cr.fetchone() else "no")
        elif command == "drop":
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,))
            cr.execute('DROP DATABASE IF EXISTS "%s"' % name.replace('"', ""))
        elif command == "clone" and template:
            cr.execute('CREATE DATABASE "%s" TEMPLATE "%s"' % (
                name.replace('"', ""), template.replace('"', "")))
        else:
            raise SystemExit(f"unknown command {command}")
    connection.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
