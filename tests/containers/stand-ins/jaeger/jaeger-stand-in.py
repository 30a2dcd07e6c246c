"""A stand-in for Jaeger's all-in-one image, for what Latch's quickstart uses of it.

Receives OTLP over HTTP on :4318 (POST /v1/traces, protobuf or JSON, as Jaeger does
when COLLECTOR_OTLP_ENABLED is true) and answers Jaeger's query API on :16686:
GET /api/services and GET /api/traces?service=NAME, in the JSON shape Jaeger's UI
reads. Spans are kept in memory. The protobuf is decoded with a wire-format reader
over the fields of opentelemetry/proto/trace/v1/trace.proto it needs (no dependency).
"""

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
SPANS = []  # dicts: service, traceID, spanID, parentSpanID, operationName, startTime (µs), duration (µs)


def fields(buf):
    """Yields (field number, wire type, value) of a protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = varint(buf, i)
        elif wt == 1:
            val, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 2:
            n, i = varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 5:
            val, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield num, wt, val


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def any_value_string(buf):
    for num, _, val in fields(buf):
        if num == 1:  # AnyValue.string_value
            return val.decode()
    return ""


def from_protobuf(body):
    """ExportTraceServiceRequest -> span dicts."""
    out = []
    for num, _, rs in fields(body):
        if num != 1:  # resource_spans
            continue
        service, scope_spans = "", []
        for n, _, v in fields(rs):
            if n == 1:  # Resource
                for rn, _, kv in fields(v):
                    if rn == 1:  # attributes (KeyValue)
                        kvf = {k: val for k, _, val in fields(kv)}
                        if kvf.get(1) == b"service.name":
                            service = any_value_string(kvf.get(2, b""))
            elif n == 2:
                scope_spans.append(v)
        for ss in scope_spans:
            for n, _, span in fields(ss):
                if n != 2:  # ScopeSpans.spans
                    continue
                s = {k: val for k, _, val in fields(span)}
                start, end = s.get(7, 0), s.get(8, 0)
                out.append({
                    "service": service,
                    "traceID": s.get(1, b"").hex(),
                    "spanID": s.get(2, b"").hex(),
                    "parentSpanID": s.get(4, b"").hex(),
                    "operationName": s.get(5, b"").decode(),
                    "startTime": start // 1000,
                    "duration": max(0, end - start) // 1000,
                })
    return out


def from_json(body):
    out = []
    for rs in json.loads(body).get("resourceSpans", []):
        attrs = rs.get("resource", {}).get("attributes", [])
        service = next((a["value"].get("stringValue", "") for a in attrs if a.get("key") == "service.name"), "")
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                start, end = int(s.get("startTimeUnixNano", 0)), int(s.get("endTimeUnixNano", 0))
                out.append({
                    "service": service, "traceID": s.get("traceId", ""), "spanID": s.get("spanId", ""),
                    "parentSpanID": s.get("parentSpanId", ""), "operationName": s.get("name", ""),
                    "startTime": start // 1000, "duration": max(0, end - start) // 1000,
                })
    return out


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, obj, ctype="application/json"):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("jaeger-stand-in: " + (fmt % args) + "\n")


class Collector(Handler):
    def do_POST(self):
        if urlparse(self.path).path != "/v1/traces":
            return self.reply(404, {"error": "not found"})
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if "json" in (self.headers.get("Content-Type") or ""):
                spans = from_json(body)
                answer, ctype = b"{}", "application/json"
            else:
                spans = from_protobuf(body)
                answer, ctype = b"", "application/x-protobuf"
        except (ValueError, IndexError, KeyError, UnicodeDecodeError) as e:
            return self.reply(400, {"error": f"undecodable OTLP: {e}"})
        with LOCK:
            SPANS.extend(spans)
        sys.stderr.write(f"jaeger-stand-in: received {len(spans)} spans\n")
        self.reply(200, answer, ctype)


class Query(Handler):
    def do_GET(self):
        url = urlparse(self.path)
        with LOCK:
            spans = list(SPANS)
        if url.path == "/api/services":
            names = sorted({s["service"] for s in spans})
            return self.reply(200, {"data": names, "total": len(names)})
        if url.path == "/api/traces":
            service = parse_qs(url.query).get("service", [""])[0]
            traces = {}
            for s in spans:
                if s["service"] == service:
                    traces.setdefault(s["traceID"], []).append(s)
            data = [{
                "traceID": tid,
                "spans": [{
                    "traceID": s["traceID"], "spanID": s["spanID"], "operationName": s["operationName"],
                    "references": [{"refType": "CHILD_OF", "traceID": s["traceID"], "spanID": s["parentSpanID"]}]
                    if s["parentSpanID"] else [],
                    "startTime": s["startTime"], "duration": s["duration"], "processID": "p1",
                } for s in ss],
                "processes": {"p1": {"serviceName": service, "tags": []}},
            } for tid, ss in traces.items()]
            return self.reply(200, {"data": data, "total": len(data), "limit": 0, "offset": 0, "errors": None})
        if url.path == "/":
            return self.reply(200, b"Jaeger stand-in (query API only)\n", "text/plain")
        return self.reply(404, {"error": "not found"})


def serve(port, handler):
    srv = ThreadingHTTPServer(("0.0.0.0", port), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


if __name__ == "__main__":
    # As a container's PID 1 a process that does not handle SIGTERM is never stopped by
    # it, only killed when `docker compose down`'s timeout runs out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Jaeger 1.62 takes OTLP unless told otherwise; the variable is honoured both ways.
    if os.environ.get("COLLECTOR_OTLP_ENABLED", "true").lower() == "true":
        serve(4318, Collector)
        sys.stderr.write("jaeger-stand-in: OTLP/HTTP on :4318\n")
    query = ThreadingHTTPServer(("0.0.0.0", 16686), Query)
    sys.stderr.write("jaeger-stand-in: query API on :16686\n")
    query.serve_forever()
