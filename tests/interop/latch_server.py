"""What the Python interop scripts share: `check` (a counted assertion), and `serving`,
which starts `latch serve all --dev` on free loopback ports over a fresh SQLite file,
waits until it is ready, and stops it at the end."""
import contextlib
import os
import socket
import subprocess
import tempfile
import time

import requests

PASSED = 0


def check(cond, what):
    global PASSED
    if not cond:
        raise AssertionError(what)
    PASSED += 1
    print(f"ok - {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(latch, env=None, prefix="latch-interop-"):
    """Yields (public URL, admin URL, working folder); `env` adds settings, and may be a
    function of the public URL (for URLS_SELF_ISSUER)."""
    work = tempfile.mkdtemp(prefix=prefix)
    pub, adm = free_port(), free_port()
    public, admin = f"http://127.0.0.1:{pub}", f"http://127.0.0.1:{adm}"
    extra = env(public) if callable(env) else (env or {})
    full = dict(os.environ, SERVE_PUBLIC_PORT=str(pub), SERVE_ADMIN_PORT=str(adm),
                DSN=f"sqlite://{work}/latch.sqlite", LOG_LEVEL="warn", **extra)
    server = subprocess.Popen([os.path.abspath(latch), "serve", "all", "--dev"], env=full, cwd=work)
    try:
        for _ in range(300):
            try:
                if requests.get(f"{public}/health/ready", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("latch did not become ready")
        yield public, admin, work
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"{PASSED} passed, 0 failed")
