"""Mixed GET traffic against 127.0.0.1 for a bounded time; prints one JSON summary line.

Run as `python -m tests.load_traffic PORT SECONDS PLAN.json STOP`: it runs at
least SECONDS, then until the file STOP exists (at most 15 minutes more). The plan lists
"cached" paths (90% of requests) and "uncached" ones (10%: search queries and
pages nobody asked for yet, each made unique). A separate process, so that the
test process's admin edits and freshness checks do not compete with it for the GIL.
"""

import http.client
import json
import os
import random
import sys
import threading
import time

THREADS = 4


def main(port: int, seconds: float, plan: dict, stop: str) -> dict:
    cached, uncached = plan["cached"], plan["uncached"]
    deadline, cap = time.monotonic() + seconds, time.monotonic() + seconds + 900

    def going() -> bool:
        now = time.monotonic()
        return now < deadline or (now < cap and not os.path.exists(stop))

    statuses: dict[int, int] = {}
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        chooser = random.Random(seed)
        serial = 0
        while going():
            if chooser.random() < 0.9:
                path = chooser.choice(cached)
            else:
                serial += 1
                path = chooser.choice(uncached).replace("{n}", f"{seed}x{serial}")
            started = time.monotonic()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", path, headers={"Host": "127.0.0.1"})
                response = connection.getresponse()
                response.read()
                status = response.status
                connection.close()
            except OSError as error:
                with lock:
                    failures.append(f"{path}: {type(error).__name__}: {error}")
                continue
            elapsed = time.monotonic() - started
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(elapsed)
                if status >= 500 and len(failures) < 50:
                    failures.append(f"{path}: {status}")

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    latencies.sort()

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": round(duration, 1),
        "per_second": round(len(latencies) / duration, 1),
        "p50_ms": round(percentile(0.50) * 1000, 1),
        "p99_ms": round(percentile(0.99) * 1000, 1),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "failures": failures,
    }


if __name__ == "__main__":
    port, seconds, plan_path, stop_path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(plan_path) as plan_file:
        summary = main(port, seconds, json.load(plan_file), stop_path)
    print(json.dumps(summary))
