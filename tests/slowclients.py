"""Slow clients against a web server, while normal requests probe whether it still answers.

Run inside the sandbox's network namespace with the system python3:
    python3 slowclients.py MODE HOST PORT SCHEME SECONDS [CAFILE]
MODE is `headers` (a request line, then one more header line every second, never the
blank line that ends the headers) or `body` (complete headers announcing a body, then
the body a few bytes every second, never all of it). CONNECTIONS slots each hold one such
connection for SECONDS, opening a new one when the server closes theirs, as a
slowloris-style attacker does. Meanwhile GET / and GET /static/style.css are probed
PROBES_PER_S times a second, each with a 1 s deadline.

Prints one JSON line: per probed path a list of [start offset s, ok, elapsed s, outcome],
and counts about the slow connections. Every loop is bounded in time and in count.
"""

import json
import socket
import ssl
import sys
import threading
import time

CONNECTIONS = 200
PROBE_PATHS = ("/", "/static/style.css")
PROBE_EXPECT = {"/": b"My Flask App", "/static/style.css": b"Served by the web server itself"}
PROBES_PER_S = 4
PROBE_DEADLINE_S = 1.0
TRICKLE_INTERVAL_S = 1.0
CONNECT_TIMEOUT_S = 5.0
# Time for the slow connections to open before the probes start.
RAMP_S = 3.0
# A slot reopens its connection at most this many times (the server may close each one
# after its read timeout); with SECONDS = 20 and 1-s trickles, more is never needed.
MAX_OPENS_PER_SLOT = 30
# The body a slow upload announces: under every generated site's body limit.
BODY_LENGTH = 100_000


class Run:
    def __init__(self, host: str, port: int, scheme: str, cafile: str | None, seconds: float):
        self.host, self.port, self.scheme, self.seconds = host, port, scheme, seconds
        self.context = None
        if scheme == "https":
            self.context = ssl.create_default_context(cafile=cafile)
        self.lock = threading.Lock()
        self.counts = {"opened": 0, "open_failed": 0, "closed_by_server": 0}
        self.open_now = 0
        self.max_open = 0
        self.start = time.monotonic()
        # The slow connections open during the ramp, then the probes run for `seconds`.
        self.probe_start = self.start + RAMP_S
        self.deadline = self.probe_start + seconds

    def connect(self, timeout: float) -> socket.socket:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if self.context is None:
            return raw
        try:
            return self.context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise

    def count(self, name: str, open_delta: int = 0) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1
            self.open_now += open_delta
            self.max_open = max(self.max_open, self.open_now)

    def slow_client(self, slot: int, mode: str) -> None:
        for _ in range(MAX_OPENS_PER_SLOT):
            if time.monotonic() >= self.deadline:
                return
            try:
                conn = self.connect(CONNECT_TIMEOUT_S)
            except OSError:
                self.count("open_failed")
                time.sleep(TRICKLE_INTERVAL_S)
                continue
            if mode == "headers":
                first = f"GET /?slow={slot} HTTP/1.1\r\nHost: {self.host}\r\n"
            else:
                first = (f"POST /?slow={slot} HTTP/1.1\r\nHost: {self.host}\r\n"
                         f"Content-Type: application/octet-stream\r\n"
                         f"Content-Length: {BODY_LENGTH}\r\n\r\n")
            self.count("opened", +1)
            try:
                conn.settimeout(CONNECT_TIMEOUT_S)
                conn.sendall(first.encode())
                for sent in range(1, int(self.seconds + RAMP_S) + 2):
                    remaining = self.deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    time.sleep(min(TRICKLE_INTERVAL_S, remaining))
                    if time.monotonic() >= self.deadline:
                        break
                    piece = f"X-Slow-{sent}: {sent}\r\n" if mode == "headers" else "0123456789"
                    conn.sendall(piece.encode())
            except OSError:
                self.count("closed_by_server", -1)
                conn.close()
                time.sleep(0.1)
                continue
            self.count("held_to_the_end", -1)
            conn.close()
            return

    def probe(self, path: str, results: list) -> None:
        offset = time.monotonic() - self.probe_start
        began = time.monotonic()
        outcome = "error"
        conn = None
        try:
            conn = self.connect(PROBE_DEADLINE_S)
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                         f"Connection: close\r\n\r\n".encode())
            response = b""
            while len(response) < 1_000_000:
                remaining = began + PROBE_DEADLINE_S - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("probe deadline")
                conn.settimeout(remaining)
                try:
                    chunk = conn.recv(65536)
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    chunk = b""  # the server closed without close_notify: the end all the same
                if not chunk:
                    break
                response += chunk
            status = response.split(b" ", 2)[1].decode() if response.startswith(b"HTTP/") else "?"
            outcome = status
            if status == "200" and PROBE_EXPECT[path] not in response:
                outcome = "200 without the expected body"
        except OSError as error:
            outcome = type(error).__name__
        finally:
            if conn is not None:
                conn.close()
        elapsed = time.monotonic() - began
        ok = outcome == "200" and elapsed <= PROBE_DEADLINE_S
        with self.lock:
            results.append([round(offset, 3), ok, round(elapsed, 3), outcome])


def main(mode: str, host: str, port: int, scheme: str, seconds: float,
         cafile: str | None) -> None:
    assert mode in ("headers", "body"), mode
    assert seconds <= 60, "bounded runs only"
    run = Run(host, port, scheme, cafile, seconds)
    slow = [threading.Thread(target=run.slow_client, args=(slot, mode), daemon=True)
            for slot in range(CONNECTIONS)]
    for thread in slow:
        thread.start()
    results: dict[str, list] = {path: [] for path in PROBE_PATHS}
    probes = []
    for tick in range(int(seconds * PROBES_PER_S)):
        pause = run.probe_start + tick / PROBES_PER_S - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        for path in PROBE_PATHS:
            thread = threading.Thread(target=run.probe, args=(path, results[path]), daemon=True)
            thread.start()
            probes.append(thread)
    hard_stop = run.deadline + CONNECT_TIMEOUT_S + 5
    for thread in probes + slow:
        thread.join(timeout=max(0.0, hard_stop - time.monotonic()))
    for path in PROBE_PATHS:
        results[path].sort()
    print(json.dumps({"probes": results, "slow": {**run.counts, "max_open": run.max_open},
                      "stragglers": sum(t.is_alive() for t in probes + slow)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]),
         sys.argv[6] if len(sys.argv) > 6 else None)
