#!/usr/bin/env python3
"""Counts the SQL statements PostgreSQL ran for one database, from its server log.

Usage: pg_statements.py LOG OFFSET DB FLOWS

LOG is PostgreSQL's log file with `log_statement = 'all'` set on DB only and Debian's
`log_line_prefix` ('%m [%p] %q%u@%d '); OFFSET is the log's size in bytes before the
counted flows ran; FLOWS is how many flows ran (one after the other) since then. Prints
one JSON object: the statements per flow by kind ("SELECT latch_tokens", "BEGIN", …),
and the totals with and without transaction control.

The server's own log is the count because it is the one source that sees every
statement whatever the client library: BEGIN and COMMIT included, prepared statements
counted each time they run. One SQL layer serves every store, so SQLite and MySQL run
the same statements (MySQL adds a read where PostgreSQL has `UPDATE … RETURNING`).
"""

import json
import re
import sys

# "%m [%p] %q%u@%d " then "LOG:  statement: …" (simple protocol) or "LOG:  execute name: …".
LINE = re.compile(r"^\S+ \S+ \S+ \[\d+\] [^@\s]*@(\S+) LOG:  (?:statement|execute [^:]*): (.*)$")
TRANSACTION = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END"}
# Reads that Latch's caches make rare (amortised over every flow of a run).
CACHE_REFILLS = {"SELECT latch_clients", "SELECT latch_keys"}


def kind(sql: str) -> str:
    """'INSERT INTO latch_tokens (…) VALUES …' → 'INSERT latch_tokens'; BEGIN etc. as is."""
    first = re.split(r"[\s;]+", sql.strip(), maxsplit=1)[0].upper()
    if first in TRANSACTION:
        return first
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+([A-Za-z_][A-Za-z0-9_]*)", sql, re.IGNORECASE)
    return f"{first} {table.group(1) if table else '?'}"


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path, offset, db, flows = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    kinds: dict[str, int] = {}
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            m = LINE.match(raw.decode("utf-8", "replace").rstrip("\n"))
            if m and m.group(1) == db:
                k = kind(m.group(2))
                kinds[k] = kinds.get(k, 0) + 1
    tx = sum(v for k, v in kinds.items() if k in TRANSACTION)
    statements = sum(kinds.values()) - tx
    refills = sum(v for k, v in kinds.items() if k in CACHE_REFILLS)
    per = lambda n: round(n / max(1, flows), 2)  # noqa: E731
    print(
        json.dumps(
            {
                "flows": flows,
                "kinds_per_flow": {k: per(v) for k, v in sorted(kinds.items())},
                "per_flow": {
                    "statements": per(statements),
                    "statements_without_cache_refills": per(statements - refills),
                    "transaction_control": per(tx),
                    "all": per(statements + tx),
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
