"""Set-wise creation of records, for the thousands of lines of a proposal or a batch.

Used by the models and the wizards alike: it knows no model of the addon.
"""

from odoo.models import MAGIC_COLUMNS
from odoo.tools import SQL


def insert_records(model, vals_list):
    """``model.create(vals_list)`` in ONE ``INSERT``, without the ORM's cost per record.

    For the thousands of lines of a proposal or a batch: models without create override,
    inverse, x2many or translated field to create, whose values are ids, numbers, dates
    and strings (Monetary amounts already rounded to their currency). Does what
    ``create`` does besides, but the company check: access rights, defaults, log access
    columns, constraints, invalidation of the one2many fields the records join and
    recomputation of the fields depending on them (stored computed fields in
    ``vals_list`` are taken as computed).
    """
    model = model.browse()
    model.check_access("create")
    if not vals_list:
        return model
    given = {fname for vals in vals_list for fname in vals} - set(MAGIC_COLUMNS)
    missing = [fname for fname, field in model._fields.items()
               if field.store and field.column_type and fname not in MAGIC_COLUMNS
               and any(fname not in vals for vals in vals_list)]
    defaults = model.default_get(missing) if missing else {}
    fnames = sorted(given | defaults.keys())
    columns, many2ones = [], {}
    for fname in fnames:
        field = model._fields[fname]
        convert = _to_float if field.type == "monetary" else field.convert_to_column
        default = convert(defaults[fname], model, validate=False) if fname in defaults else None
        values = [convert(vals[fname], model, validate=False) if fname in vals else default
                  for vals in vals_list]
        columns.append(SQL("%s::%s[]", values, SQL(field.column_type[1])))
        if field.type == "many2one":
            many2ones[field] = values
    uid, now = model.env.uid, model.env.cr.now()
    ids = [row[0] for row in model.env.execute_query(SQL(
        "INSERT INTO %s (%s) SELECT %s, %s, %s, %s, * FROM unnest(%s) RETURNING id",
        SQL.identifier(model._table),
        SQL(", ").join(map(SQL.identifier, [*MAGIC_COLUMNS[1:], *fnames])),
        uid, now, uid, now,
        SQL(", ").join(columns),
    ))]
    records = model.browse(ids)
    for field in many2ones:  # the one2many fields in cache do not hold the new records
        for inverse in model.pool.field_inverses[field]:
            model.env[inverse.model_name].invalidate_model([inverse.name])
    for field, values in many2ones.items():  # what the dependencies below go through
        model.env.cache.update(records, field, values)
    computed = [model._fields[fname] for fname in fnames if model._fields[fname].compute]
    with model.env.protecting(computed, records):
        records.modified(model._fields, create=True)
    records._validate_fields(fnames)
    records.check_access("create")
    return records


def _to_float(value, _record, validate=True):
    return float(value or 0.0)
