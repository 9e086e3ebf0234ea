"""`make bench`: the load benchmark of SPEC §12 (see `bench/run.py` and README "Benchmark").

Kept out of the Django apps on purpose: nothing here is imported by the site, and the locust
file is only ever loaded by the locust CLI (gevent monkey-patches whatever imports it).
"""
