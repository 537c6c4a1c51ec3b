"""A model service's process for benchmarks/client.py: it logs `--rate` predictions/s with a
spooling VocClient until stopped, as a host under an orchestrator would.

    python benchmarks/client_host.py URL KEY PROJECT --items items.json --spool s.sqlite3 \
        --counter logged.bin [--seconds 20] [--rate 1000]

`--items` is a JSON list of log_prediction's keyword arguments, logged in order.

SIGTERM ends it the way servers end (SystemExit, so the client's exit hook moves what is
undelivered to the spool); SIGKILL ends it with no chance to. After each call that queued a
record, the number of such calls is written to `--counter` (8 bytes in a memory-mapped file),
so the benchmark knows how many records this process logged however it ended. With
`--seconds`, it stops logging after that long, flushes for up to 120 s and prints its stats.
"""

import argparse
import json
import mmap
import signal
import struct
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("project")
    parser.add_argument("--items", required=True)
    parser.add_argument("--spool", required=True)
    parser.add_argument("--counter", required=True)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--spool-after", type=float, default=5.0)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from voc_triage_client import VocClient

    client = VocClient(
        args.url, args.key, args.project, spool_path=args.spool, spool_after=args.spool_after
    )
    with open(args.counter, "r+b") as file:
        counter = mmap.mmap(file.fileno(), 8)
    with open(args.items) as file:
        items = json.load(file)
    if args.seconds:
        items = items[: int(args.rate * args.seconds)]
    started = time.monotonic()
    logged = 0
    for i, item in enumerate(items):
        wait = started + i / args.rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if client.log_prediction(**item):
            logged += 1
            counter[:8] = struct.pack("<q", logged)
    delivered = client.flush(timeout=120)
    print(json.dumps({"logged": logged, "flushed": delivered, **client.stats()}), flush=True)
    client.close()


if __name__ == "__main__":
    main()
