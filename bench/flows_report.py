"""bench/run's report of the flows section (markdown on stdout).

Reads the JSON results bench/run left in $TMP: flows-<server>.json (bench/flowgen's plain
flows under load, with the CPU and RSS bench/run added) and flows-<server>-<kind>.json (its
PAR and DPoP flows, the same way), and sql-postgres.json (bench/pg_statements.py's
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
KINDS = os.environ.get("FLOW_KINDS", "plain").split()
PUSH_STEP = ("push", "push", "the client pushes the authorization request (RFC 9126) → 201 with a request_uri")


def row(server, kind):
    """The name of a flows row: the server for the plain flows, server-kind for the others."""
    return server if kind == "plain" else f"{server}-{kind}"


def cpu_per_flow(r):
    """The server's CPU time per flow, in ms."""
    return r["server_cores"] / r["flows_per_s"] * 1000


def flows_section(kind, results, plain, first):
    """One kind's table, per-step times, CPU note and targets. `plain`: the plain flows'
    results (for the DPoP row's cost against them), `first`: the first section shown."""
    node = results.get("node")
    steps = ([PUSH_STEP] if kind == "par" else []) + STEPS
    workers, duration, warmup = os.environ["FLOW_WORKERS"], os.environ["FLOW_DURATION"], os.environ["FLOW_WARMUP"]
    command = (
        f"`{os.environ.get('FLOW_GEN_NAME', 'bench/flowgen')} <server> --workers {workers}"
        + f" --threads {THREADS}"
        + f" --duration {duration}"
        f" --subjects {os.environ.get('FLOW_SUBJECTS', '1')}"
        + (f" --kind {kind}" if kind != "plain" else "")
        + "`"
    )
    if kind == "plain":
        p("### Complete authorization-code flows")
        p("")
        p(
            f"{command}"
            f" after a {warmup} s warm-up run with the same settings: {workers}"
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
    elif kind == "par":
        p("### PAR flows (RFC 9126)")
        p("")
        p(
            f"{command} after a {warmup} s warm-up run, each server fresh: the plain flows with the authorization"
            " request pushed first (9 HTTP requests per flow). The client posts the same parameters to the PAR"
            " endpoint (Latch `POST /oauth2/par`, node-oidc-provider `POST /request`) with HTTP Basic `flow:flow-secret`,"
            " as at the token endpoint, and must get 201 with a `request_uri` and a positive `expires_in`; the browser"
            " then goes to the authorization endpoint with `client_id` and that `request_uri` only. Every other step"
            " and check is the plain flows'. PAR is enabled and not required on both servers."
        )
    else:
        p("### DPoP flows (RFC 9449)")
        p("")
        p(
            f"{command} after a {warmup} s warm-up run, each server fresh: the plain flows with a DPoP-bound"
            " token request. Each worker is one client instance with an ES256 key of its own, made before its"
            " first flow and kept, as DPoP clients keep theirs (each flow is still a new browser with its own"
            " cookie jar; neither server keeps anything per key); each flow's token request carries a fresh proof (header `typ` dpop+jwt, `alg` ES256, the public"
            " key as `jwk`; claims a random `jti`, `htm` POST, `htu` the token endpoint, `iat` now), without a"
            " nonce: neither server asks for one (Latch without `OAUTH2_DPOP_REQUIRE_NONCE`, node-oidc-provider"
            " without `features.dPoP.nonceSecret`). Besides the plain flows' checks, the answer's `token_type`"
            " must be DPoP (case-insensitive). Each server verifies the proof and records its `jti` (Latch in its"
            " store, node-oidc-provider in its adapter's replay detection). \"CPU per flow vs plain\": the"
            " server's CPU per flow here over its CPU per flow in the plain flows of this run."
        )
    p("")
    extra = kind == "dpop"
    p(
        "| server | flows/s | vs node | p50 | p99 | server CPU | server CPU per flow | machine CPU | load generator CPU | peak RSS |"
        + (" CPU per flow vs plain |" if extra else "")
    )
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if extra else ""))
    for s in FLOWS:
        r = results[s]
        if r is None:
            p(f"| {LABELS[s]} | **FAILED**: {failure('flows-' + row(s, kind))} |||||||||" + ("|" if extra else ""))
            continue
        ratio = f"{r['flows_per_s'] / node['flows_per_s']:.2f}×" if node else "n/a"
        line = (
            f"| {LABELS[s]} | {r['flows_per_s']:.0f} | {ratio} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms"
            f" | {r['server_cores']:.2f} | {cpu_per_flow(r):.2f} ms"
            f" | {r['machine_cores']:.2f} | {r['client_cpu']:.2f} | {mb(r['peak_rss_kb'])} |"
        )
        if extra:
            base = plain.get(s)
            if base:
                cost = cpu_per_flow(r) / cpu_per_flow(base)
                line += f" {cost:.2f}× ({(cost - 1) * 100:+.1f} %) |"
            else:
                line += " n/a |"
        p(line)
    p("")
    count = {8: "eight", 9: "nine"}.get(len(steps), str(len(steps)))
    p(f"Mean time of each step (ms, under the same load; the {count} requests of a flow):")
    p("")
    p("| server | " + " | ".join(label for _, label, _ in steps) + " |")
    p("|---|" + "---:|" * len(steps))
    for s in FLOWS:
        r = results[s]
        if r is not None:
            p(f"| {LABELS[s]} | " + " | ".join(f"{r['steps_ms'].get(k, 0):.2f}" for k, _, _ in steps) + " |")
    p("")
    measured = [s for s in FLOWS if results[s] is not None]
    busy = (
        "Machine busy before each row: "
        + ", ".join(f"{LABELS[s]} {float(results[s]['busy_before']):.2f}" for s in measured)
        + f" cores (each row waits up to {os.environ.get('QUIET_TIMEOUT', '?')} s for < 0.25)."
        if measured
        else ""
    )
    if first:
        p(
            f"CPU in cores (of {NPROC}) during the measured run: the server process (and that divided by the flows"
            " per second: its CPU time per flow; PostgreSQL's backends are not in it), the whole machine (server,"
            " load generator, PostgreSQL, anything else) and the load generator ("
            + f"bench/flowgen, {'one Rust thread' if THREADS == '1' else THREADS + ' Rust threads'}"
            + ")."
            " Peak RSS: the server's VmHWM after the flows. "
            + busy
        )
    else:
        p(("Columns as in the first flows table. " + busy).rstrip())
    latch_rows = [s for s in ("sqlite", "postgres") if results.get(s)]
    if kind == "plain" and node and latch_rows:
        p("")
        p("Target: Latch completes ≥ 3× as many flows per second as node-oidc-provider:")
        for s in latch_rows:
            ratio = results[s]["flows_per_s"] / node["flows_per_s"]
            verdict = "met" if ratio >= 3 else f"NOT met ({3 / ratio:.1f}× short)"
            p(f"- {LABELS[s]}: {ratio:.2f}× — {verdict}")
    if kind == "dpop" and latch_rows and (node or any(plain.get(s) for s in latch_rows)):
        p("")
        p(
            "Targets (DPoP flows): Latch completes ≥ 3× as many DPoP flows per second as node-oidc-provider, and"
            " DPoP adds < 20 % to Latch's server CPU per flow (against its plain flows of this run):"
        )
        for s in latch_rows:
            if node:
                ratio = results[s]["flows_per_s"] / node["flows_per_s"]
                verdict = "met" if ratio >= 3 else f"NOT met ({3 / ratio:.1f}× short)"
                p(f"- DPoP flows, {LABELS[s]}: {ratio:.2f}× node-oidc-provider's DPoP flows/s — {verdict}")
            base = plain.get(s)
            if base:
                d, b = cpu_per_flow(results[s]), cpu_per_flow(base)
                cost = d / b
                verdict = "met" if cost < 1.2 else f"NOT met ({(cost - 1.2) * 100:.1f} points over)"
                p(
                    f"- DPoP cost, {LABELS[s]}: {cost:.2f}× its plain flow's server CPU per flow"
                    f" ({d:.2f} ms vs {b:.2f} ms, {(cost - 1) * 100:+.1f} %) — {verdict}"
                )
    p("")


if FLOWS:
    by_kind = {k: {s: load(f"flows-{row(s, k)}.json") for s in FLOWS} for k in KINDS}
    plain = by_kind.get("plain", {})
    for i, kind in enumerate(KINDS):
        flows_section(kind, by_kind[kind], plain, i == 0)

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
