"""The exporter case's rows: 10 typed columns, generated the same way for our
exporter and for the anchor (Python ``csv`` to a local file, then ``sftp put``),
so both pay the same generation cost.

Run as a script (``bench_rows.py ROWS OUT.csv``), it is the anchor's first half.
"""
import csv
import datetime
import sys

COLUMNS = [{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"},
           {"name": "price", "type": "double"}, {"name": "qty", "type": "int"},
           {"name": "active", "type": "boolean"}, {"name": "created", "type": "date"},
           {"name": "ratio", "type": "float"}, {"name": "city", "type": "string"},
           {"name": "code", "type": "smallint"}, {"name": "note", "type": "string"}]
_CITIES = ["Paris", "Lyon", "Nantes", "Lille", "Bordeaux", "Nice, Sud", "Brest"]
_T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
_DAY = datetime.timedelta(seconds=86400)


def rows(count):
    """``count`` row tuples as DSS hands them to an exporter (typed values)."""
    days = [_T0 + _DAY * d for d in range(366)]
    for n in range(count):
        yield (n, "customer %d" % n, n * 0.25, n % 1000, n % 3 == 0, days[n % 366],
               (n % 97) / 7.0, _CITIES[n % 7], n % 100, "note \"%d\"" % (n % 13))


def write_csv(count, path):
    """The anchor's way: the standard library's writer, typed values as ``str``."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([c["name"] for c in COLUMNS])
        for row in rows(count):
            writer.writerow([v.isoformat() if isinstance(v, datetime.datetime) else v
                             for v in row])


if __name__ == "__main__":
    write_csv(int(sys.argv[1]), sys.argv[2])
