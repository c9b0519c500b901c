"""A bounded HTTP load: N threads request one URL for a few seconds and count failures.

Run inside the client namespace (`ip netns exec ... python3 loadgen.py URL HOST`); prints
one JSON line: {"total": ..., "failed": ..., "statuses": {...}, "errors": [...],
"latency_s": {"p50": ..., "p99": ..., "max": ...}}. Every loop is bounded in time and in
request count, and each request has its own timeout; SIGTERM ends the load early (the
numbers are printed all the same).
"""

import errno
import http.client
import json
import signal
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

THREADS = 8
MAX_REQUESTS = 50_000
REQUEST_TIMEOUT_S = 10


def main(url: str, host: str, seconds: float) -> None:
    target = urlsplit(url)
    statuses: Counter[str] = Counter()
    errors: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def worker() -> None:
        while time.monotonic() < deadline and not stop.is_set():
            with lock:
                if sum(statuses.values()) >= MAX_REQUESTS:
                    return
            connection = http.client.HTTPConnection(target.hostname, target.port or 80,
                                                    timeout=REQUEST_TIMEOUT_S)
            started = time.monotonic()
            try:
                connection.request("GET", target.path or "/", headers={"Host": host})
                response = connection.getresponse()
                response.read()
                outcome = str(response.status)
            except OSError as error:
                # Out of local ports is the client's failure, not the server's.
                out_of_ports = error.errno == errno.EADDRNOTAVAIL
                outcome = "client out of ports" if out_of_ports else "error"
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
            finally:
                connection.close()
            with lock:
                statuses[outcome] += 1
                latencies.append(time.monotonic() - started)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 2 * REQUEST_TIMEOUT_S)
    total = sum(statuses.values())
    failed = total - sum(n for status, n in statuses.items() if status.startswith("2"))
    ordered = sorted(latencies) or [0.0]
    latency = {name: round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 4)
               for name, share in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))}
    print(json.dumps({"total": total, "failed": failed, "statuses": dict(statuses),
                      "errors": errors[:5], "latency_s": latency}))
    if statuses["client out of ports"]:
        sys.exit("loadgen: the client ran out of local ports; this measurement is void")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 4.0)
