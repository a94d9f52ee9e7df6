"""CPython's multiprocessing manager as a comparison peer for `npm run bench -- --compare`.

    python3 syncmanager.py server          serve until SIGTERM; prints "listening HOST PORT"
    python3 syncmanager.py client OP       connect, print "ready", read one JSON run line on
                                           stdin, warm up, measure, print one JSON result line
    python3 syncmanager.py read KIND KEY   print the final value ("counter" or "dict") as JSON

The address and the authkey (hex) come in SYNCMGR_BENCH_PY_ADDR ("host:port") and
SYNCMGR_BENCH_PY_AUTHKEY, never on the command line.

What a careful Python user writes:
- counters: a registered Counter class whose incr takes a threading.Lock inside the server
  process (the manager serves each connection on its own thread), shared by every client;
- the locked read-modify-write: the manager's Lock (threading.Lock behind an AcquirerProxy) and
  a dict behind a DictProxy: acquire, get, set +1, release.

Each client process makes one request at a time (a proxy cannot pipeline), so "requests in
flight" is the number of client processes.
"""

import json
import os
import signal
import sys
import threading
import time
from multiprocessing.managers import AcquirerProxy, DictProxy, SyncManager


class Counter:
    """Named counters; incr is atomic because it holds a lock in the server."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values = {}

    def incr(self, key, by=1):
        with self._lock:
            value = self._values.get(key, 0) + by
            self._values[key] = value
            return value

    def get(self, key):
        with self._lock:
            return self._values.get(key)


class BenchManager(SyncManager):
    pass


def address_and_key():
    host, port = os.environ["SYNCMGR_BENCH_PY_ADDR"].rsplit(":", 1)
    return (host, int(port)), bytes.fromhex(os.environ["SYNCMGR_BENCH_PY_AUTHKEY"])


def serve():
    counter, lock, shared = Counter(), threading.Lock(), {}
    # One shared instance of each, as in the Python docs' "get_queue" example.
    BenchManager.register("get_counter", callable=lambda: counter)
    BenchManager.register("get_lock", callable=lambda: lock, proxytype=AcquirerProxy)
    BenchManager.register("get_dict", callable=lambda: shared, proxytype=DictProxy)
    address, authkey = address_and_key()
    manager = BenchManager(address=address, authkey=authkey)
    server = manager.get_server()
    # multiprocessing listens with a backlog of 16: the bench starts up to 64 client processes at
    # once, whose connects would be dropped and retried with back-off for up to a minute. A
    # deeper queue changes nothing once they are connected (connections are made before timing).
    server.listener._listener._socket.listen(1024)
    host, port = server.address
    print(f"listening {host} {port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever()


def connect():
    BenchManager.register("get_counter")
    BenchManager.register("get_lock", proxytype=AcquirerProxy)
    BenchManager.register("get_dict", proxytype=DictProxy)
    address, authkey = address_and_key()
    manager = BenchManager(address=address, authkey=authkey)
    manager.connect()
    return manager


def client(op):
    manager = connect()
    counter = manager.get_counter()
    lock = manager.get_lock()
    shared = manager.get_dict()

    if op == "incr":
        def step(key):
            return counter.incr(key)
    elif op == "lockedIncr":
        def step(key):
            lock.acquire()
            try:
                value = shared.get(key, 0) + 1
                shared[key] = value
                return value
            finally:
                lock.release()
    else:
        raise SystemExit(f"unknown op {op}")

    # Each proxy opens its connection on first use: do that now, before the timed part.
    counter.get("ready")
    shared.get("ready")
    lock.acquire()
    lock.release()
    print("ready", flush=True)
    run = json.loads(sys.stdin.readline())
    key, exclusive = run["key"], run.get("exclusiveKey", False)

    def loop(key, duration_ms, record):
        latencies = []
        ops = last = 0
        start_ms = time.time() * 1000
        start_cpu = os.times()
        deadline = time.perf_counter_ns() + int(duration_ms * 1e6)
        now = time.perf_counter_ns()
        while now < deadline:
            sent = now
            value = step(key)
            now = time.perf_counter_ns()
            if record:
                latencies.append(now - sent)
            if exclusive:
                if value != last + 1:
                    raise SystemExit(f"{key}: answered {value} where {last + 1} was due")
                last = value
            ops += 1
        cpu = os.times()
        cpu_micros = {"user": (cpu.user - start_cpu.user) * 1e6, "system": (cpu.system - start_cpu.system) * 1e6}
        return ops, start_ms, time.time() * 1000, latencies, cpu_micros

    warmup_ops = loop(key + ":warmup", run["warmupMs"], False)[0]
    ops, start_ms, end_ms, latencies, cpu_micros = loop(key, run["durationMs"], True)
    print(json.dumps({"ops": ops, "warmupOps": warmup_ops, "startMs": start_ms, "endMs": end_ms, "latenciesNs": latencies, "cpuMicros": cpu_micros}), flush=True)
    # Stay until the bench has read the result and closes stdin.
    sys.stdin.read()


def read(kind, key):
    manager = connect()
    value = manager.get_counter().get(key) if kind == "counter" else manager.get_dict().get(key)
    print(json.dumps(value), flush=True)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "server":
        serve()
    elif command == "client":
        client(sys.argv[2])
    elif command == "read":
        read(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
