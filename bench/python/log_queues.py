"""Baseline B (ii): processes pull file names from a task queue and put per-file counts on a
result queue, with None sentinels, as the post's multiprocessing version does."""
import multiprocessing
import os
import sys
from log_common import count_file, print_counts


def work(tasks, results):
    for path in iter(tasks.get, None):
        results.put(count_file(path))
    results.put(None)


if __name__ == '__main__':
    processes = int(os.environ.get('PROCESSES', multiprocessing.cpu_count()))
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    for path in sys.argv[1:]:
        tasks.put(path)
    for _ in range(processes):
        tasks.put(None)
    workers = [multiprocessing.Process(target=work, args=(tasks, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    totals, finished = {}, 0
    while finished < processes:
        counts = results.get()
        if counts is None:
            finished += 1
            continue
        for key, count in counts.items():
            totals[key] = totals.get(key, 0) + count
    for worker in workers:
        worker.join()
    print_counts(totals)
