"""The old stack's weekly statistics report, as a baseline for bench/weekly-statistics.ts:
pandas read_sql over the events of the range, then pivot_table per week and application and
per week and source, and value_counts of the kinds. Prints {"ms": ..., "total": ...} as JSON.

    /usr/bin/python3 bench/lib/weekly_statistics_pandas.py '{"dsn": "...", "timeZone": "UTC", "from": "2024-01-01", "to": "2024-12-31", "rounds": 3}'

Needs Debian's python3-pandas and python3-psycopg2 (see bench/README.md).
"""
import json
import sys
import time
import warnings

import pandas as pd
import psycopg2

warnings.filterwarnings("ignore")  # pandas asks for SQLAlchemy; a DBAPI connection is what the old stack used

job = json.loads(sys.argv[1])
conn = psycopg2.connect(job["dsn"])
QUERY = """
select application, source, kind, occurred_at from licensing.licence_events
 where occurred_at >= (%(from)s::date::timestamp at time zone %(tz)s)
   and occurred_at < ((%(to)s::date + 1)::timestamp at time zone %(tz)s)
"""
timings = []
total = 0
for _ in range(job.get("rounds", 1)):
    started = time.perf_counter()
    df = pd.read_sql(QUERY, conn, params={"from": job["from"], "to": job["to"], "tz": job["timeZone"]})
    local = pd.to_datetime(df["occurred_at"], utc=True).dt.tz_convert(job["timeZone"])
    df["week"] = local.dt.strftime("%G-W%V")
    summary = df.pivot_table(index="week", columns="application", values="kind", aggfunc="count", fill_value=0, margins=True)
    frequency = pd.DataFrame({"count": df["kind"].value_counts(), "share": df["kind"].value_counts(normalize=True)})
    by_source = df.pivot_table(index="week", columns="source", values="kind", aggfunc="count", fill_value=0, margins=True)
    timings.append((time.perf_counter() - started) * 1000)
    total = int(summary.loc["All", "All"]) if len(df) else 0
conn.close()
print(json.dumps({"ms": sorted(timings)[len(timings) // 2], "total": total}))
