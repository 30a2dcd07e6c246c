"""bench/run's report of the flows section (markdown on stdout).

Reads the JSON results bench/run left in $TMP: flows-<server>.json (bench/flowgen under
load, with the CPU and RSS bench/run added) and sql-postgres.json (bench/pg_statements.py's
count of the statements PostgreSQL logged during sequential flows); failed-<row>.txt for
the rows that failed.
Settings come from the environment (see the end of bench/run).
"""

import json
import os

TMP = os.environ["TMP"]
FLOWS = os.environ.get("FLOWS", "").split()
FLOWS_SQL = os.environ.get("FLOWS_SQL", "").split()
NPROC = os.environ.get("NPROC", "?")
STEPS = [
    ("authorize", "authorize", "GET the authorization URL → redirect to the login UI with the challenge"),
    ("login_read", "login read", "the login UI reads the login request"),
    ("login_accept", "login accept", "the login UI accepts it (subject foo@bar.com)"),
    ("login_return", "back from login", "the browser returns to the authorization endpoint → redirect to the consent UI"),
    ("consent_read", "consent read", "the consent UI reads the consent request"),
    ("consent_accept", "consent accept", "the consent UI accepts it (openid + offline)"),
    ("consent_return", "back from consent", "the browser returns → redirect to the client with the code"),
    ("token", "token", "the client exchanges the code (+ PKCE verifier) for access, refresh and ID token"),
]
LABELS = {
    "node": os.environ.get("NODE_LABEL", "node-oidc-provider"),
    "sqlite": "Latch, SQLite",
    "postgres": "Latch, PostgreSQL",
    "memory": "Latch, DSN=memory (reference)",
}


def load(name):
    try:
        with open(os.path.join(TMP, name), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def failure(row):
    try:
        with open(os.path.join(TMP, f"failed-{row}.txt"), encoding="utf-8") as f:
            why = f.read().strip()
    except OSError:
        why = "no result"
    why = why.replace("|", "\\|").replace("\n", " ")
    return why if len(why) <= 220 else why[:220] + "…"


def mb(kb):
    return f"{kb / 1024:.1f} MB"


def per_flow(count, flows):
    return f"{count / flows if flows else 0:.2f}".rstrip("0").rstrip(".")


out = []
p = out.append

# ------------------------------------------------------------------------------------------
THREADS = os.environ.get("FLOW_THREADS", "1")
if FLOWS:
    results = {s: load(f"flows-{s}.json") for s in FLOWS}
    node = results.get("node")
    p("### Complete authorization-code flows")
    p("")
    p(
        f"`{os.environ.get('FLOW_GEN_NAME', 'bench/flowgen')} <server> --workers {os.environ['FLOW_WORKERS']}"
        + f" --threads {THREADS}"
        + f" --duration {os.environ['FLOW_DURATION']}"
        f" --subjects {os.environ.get('FLOW_SUBJECTS', '1')}`"
        f" after a {os.environ['FLOW_WARMUP']} s warm-up run with the same settings: {os.environ['FLOW_WORKERS']}"
        " concurrent scripted clients, each running complete flows back to back (8 HTTP requests per flow:"
        " authorization request with PKCE S256, state and nonce; login read + accept; back to the authorization"
        " endpoint with the browser's cookies; consent read + accept; back again; code exchange at the token"
        " endpoint). A flow counts only when every step answered as expected and the token response has an"
        " access token, a refresh token and an ID token with the flow's nonce; any failed flow fails the row. "
        + (
            "Every flow logs in the same end-user, foo@bar.com."
            if os.environ.get("FLOW_SUBJECTS", "1") == "1"
            else f"The flows take turns among {os.environ['FLOW_SUBJECTS']} end-users."
        )
    )
    p("")
    p("| server | flows/s | vs node | p50 | p99 | server CPU | server CPU per flow | machine CPU | load generator CPU | peak RSS |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in FLOWS:
        r = results[s]
        if r is None:
            p(f"| {LABELS[s]} | **FAILED**: {failure('flows-' + s)} |||||||||")
            continue
        ratio = f"{r['flows_per_s'] / node['flows_per_s']:.2f}×" if node else "n/a"
        p(
            f"| {LABELS[s]} | {r['flows_per_s']:.0f} | {ratio} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms"
            f" | {r['server_cores']:.2f} | {r['server_cores'] / r['flows_per_s'] * 1000:.2f} ms"
            f" | {r['machine_cores']:.2f} | {r['client_cpu']:.2f} | {mb(r['peak_rss_kb'])} |"
        )
    p("")
    p("Mean time of each step (ms, under the same load; the eight requests of a flow):")
    p("")
    p("| server | " + " | ".join(label for _, label, _ in STEPS) + " |")
    p("|---|" + "---:|" * len(STEPS))
    for s in FLOWS:
        r = results[s]
        if r is not None:
            p(f"| {LABELS[s]} | " + " | ".join(f"{r['steps_ms'][k]:.2f}" for k, _, _ in STEPS) + " |")
    p("")
    p(
        f"CPU in cores (of {NPROC}) during the measured run: the server process (and that divided by the flows"
        " per second: its CPU time per flow; PostgreSQL's backends are not in it), the whole machine (server,"
        " load generator, PostgreSQL, anything else) and the load generator ("
        + f"bench/flowgen, {'one Rust thread' if THREADS == '1' else THREADS + ' Rust threads'}"
        + ")."
        " Peak RSS: the server's VmHWM after the flows. Machine busy before each row: "
        + ", ".join(f"{LABELS[s]} {float(results[s]['busy_before']):.2f}" for s in FLOWS if results[s] is not None)
        + f" cores (each row waits up to {os.environ.get('QUIET_TIMEOUT', '?')} s for < 0.25)."
    )
    latch_rows = [s for s in ("sqlite", "postgres") if results.get(s)]
    if node and latch_rows:
        p("")
        p("Target: Latch completes ≥ 3× as many flows per second as node-oidc-provider:")
        for s in latch_rows:
            ratio = results[s]["flows_per_s"] / node["flows_per_s"]
            verdict = "met" if ratio >= 3 else f"NOT met ({3 / ratio:.1f}× short)"
            p(f"- {LABELS[s]}: {ratio:.2f}× — {verdict}")
    p("")

# ------------------------------------------------------------------------------------------
if FLOWS_SQL:
    p("### SQL statements per flow (Latch on PostgreSQL)")
    p("")
    sql = load("sql-postgres.json")
    pg_log = os.environ.get("PG_SERVER_LOG", "")
    if not pg_log:
        p("- not counted: no readable PostgreSQL log with Debian's `log_line_prefix` (set BENCH_PG_LOG)")
    elif sql is None:
        p(f"- **FAILED**: {failure('sql-postgres')}")
    else:
        p(
            f"{sql['flows']} flows one after the other (after {os.environ['FLOW_SQL_WARMUP']} warm-up flows),"
            f" counted in the server's own log ({pg_log}, `log_statement = 'all'` on the benchmark's database"
            " only). Cache refills (the client, 5 s; the signing keys, 60 s) are amortised over the run."
        )
        p("")
        p("| statement | per flow |")
        p("|---|---:|")
        for k, v in sql["kinds_per_flow"].items():
            p(f"| {k} | {v:g} |")
        a = sql["per_flow"]
        p(f"| **statements (without BEGIN/COMMIT/ROLLBACK)** | **{a['statements']:g}** |")
        p(f"| transaction control | {a['transaction_control']:g} |")
        p("")
        n = a["statements_without_cache_refills"]
        verdict = "met" if n <= 6 else f"NOT met ({n - 6:g} over)"
        p(f"Target: ≤ 6 SQL statements per flow (cache refills aside): {n:g} — {verdict}")
    p("")

print("\n".join(out).rstrip())
