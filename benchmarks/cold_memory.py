#!/usr/bin/env python3
"""What a fresh page of memory costs this process, and a holder of memory (cold_memory.sh).

    cold_memory.py probe [MiB]   prints the microseconds per fresh 4 KiB page (default 64 MiB)
    cold_memory.py hold MiB      touches MiB of fresh memory and then 16 MiB more, prints
                                 "held US" (US: microseconds per page of those last 16 MiB,
                                 what the next fresh page will cost), keeps it all until killed

Fresh means mapped now and never touched: each page's first write makes the guest kernel
hand out a page, and on a VM whose host backs guest memory lazily that page may not be
backed yet (then its first touch costs 15-50 us here instead of ~1.3 us).
"""
import mmap
import signal
import sys
import time

PAGE = 4096


def touch(mib):
    """Maps and touches mib MiB of fresh memory; returns it and the us per 4 KiB page."""
    size = max(mib, 1) << 20
    area = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    start = time.perf_counter()
    for offset in range(0, size, PAGE):
        area[offset] = 1
    return area, (time.perf_counter() - start) * 1e6 / (size // PAGE)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "probe":
        mib = int(sys.argv[2]) if len(sys.argv) > 2 else 64
        _, us_per_page = touch(mib)
        print(f"{us_per_page:.2f}")
    elif len(sys.argv) == 3 and sys.argv[1] == "hold":
        area, _ = touch(int(sys.argv[2]))
        probe_area, us_per_page = touch(16)
        print(f"held {us_per_page:.2f}", flush=True)
        signal.pause()
        del area, probe_area
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
