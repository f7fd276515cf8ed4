"""The Dask side of bench/compare: one scenario per run, on a LocalCluster
of worker processes, timed after the workers are up. Prints one JSON
object. Run with Debian's /usr/bin/python3 (python3-distributed)."""
import json
import logging
import sys
import time


def noop(x):
    return x


def nap(ms):
    time.sleep(ms / 1000.0)
    return ms


def now(_):
    return time.time()


def main():
    mode, n, workers, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    arg = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        out = {}
        if mode == "noop":
            t = time.perf_counter()
            client.gather(client.map(noop, range(n), pure=False))
            out["seconds"] = time.perf_counter() - t
        elif mode == "sleep":
            t = time.perf_counter()
            client.gather(client.map(nap, [arg] * n, pure=False))
            out["seconds"] = time.perf_counter() - t
        elif mode == "latency":
            lats = []
            for i in range(n):
                t0 = time.time()
                started = client.submit(now, i, pure=False).result()
                lats.append(started - t0)
            out["latencies"] = lats
        else:
            raise SystemExit("dask_bench: unknown mode " + mode)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
