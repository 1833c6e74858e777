"""Side-by-side benchmark of Dockyard and the reference registry (CNCF Distribution 2.8).

``python -m bench`` (or ``make bench``) starts both servers on 127.0.0.1, each on local disk in
its own temp dir, runs the same workloads against both in one run, prints a table (workload,
Dockyard figure, Distribution figure, ratio, target, pass/fail) and writes
``bench/results/latest.json``. ``python -m bench --help`` lists the options and workloads.
"""
