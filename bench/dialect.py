"""Why the store speaks to PostgreSQL through psycopg 3 directly (README, «Two engines, one door»): the same bulk
insert and the same small queries through psycopg (COPY, executemany, execute) and through SQLAlchemy Core.

    python bench/dialect.py postgresql://user@host:port/name      (SQLAlchemy: pip install sqlalchemy==2.1.9)

Prints the best of three timings of each; SQLAlchemy is not a dependency of ThiDua, so it is only measured when
installed. The table it writes (dialect_bench) is dropped at the end.
"""
from __future__ import annotations

import sys
import time

import psycopg

N_FILES, N_VALUES, N_QUERIES = 200, 300, 3000
COLUMNS = ("submission_id", "sheet", "cell", "field", "row", "value_num", "value_text", "value_date")
DDL = ("DROP TABLE IF EXISTS dialect_bench; CREATE TABLE dialect_bench (submission_id bigint, sheet text, cell text, "
       "field text, row bigint, value_num double precision, value_text text, value_date text)")


def best(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main(url: str) -> int:
    rows = [(f, "Chỉ tiêu", f"C{i}", f"ind.X{i}", None, float(i), None, None)
            for f in range(N_FILES) for i in range(N_VALUES)]
    conn = psycopg.connect(url, autocommit=True)

    def copy():
        conn.execute(DDL)
        with conn.transaction(), conn.cursor().copy(f"COPY dialect_bench ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)

    def executemany():
        conn.execute(DDL)
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(f"INSERT INTO dialect_bench VALUES ({', '.join(['%s'] * len(COLUMNS))})", rows)

    def small():
        for i in range(N_QUERIES):
            conn.execute("SELECT value_num FROM dialect_bench WHERE cell = %s LIMIT 1", (f"C{i % N_VALUES}",)).fetchone()

    figures = {"psycopg COPY": best(copy), "psycopg executemany": best(executemany)}
    copy()
    figures["psycopg small queries"] = best(small)
    try:
        import sqlalchemy as sa
    except ImportError:
        sa = None
    if sa is not None:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        table = sa.Table("dialect_bench", sa.MetaData(), *[sa.Column(c) for c in COLUMNS])
        dicts = [dict(zip(COLUMNS, r)) for r in rows]
        query = sa.text("SELECT value_num FROM dialect_bench WHERE cell = :c LIMIT 1")

        def core_insert():
            conn.execute(DDL)
            with engine.begin() as c:
                c.execute(table.insert(), dicts)

        def core_small():
            with engine.connect() as c:
                for i in range(N_QUERIES):
                    c.execute(query, {"c": f"C{i % N_VALUES}"}).fetchone()

        figures["SQLAlchemy Core insert"] = best(core_insert)
        figures["SQLAlchemy Core small queries"] = best(core_small)
        engine.dispose()
    conn.execute("DROP TABLE IF EXISTS dialect_bench")
    print(f"{len(rows)} rows inserted, {N_QUERIES} small queries (best of 3, seconds):")
    for name, seconds in figures.items():
        print(f"  {name:32} {seconds:7.3f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
