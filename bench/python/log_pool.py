"""Baseline B (iii): the post's SimpleMapReduce: Pool.map over files returning (match, 1)
pairs, grouped into a dict of lists, then a second Pool.map to reduce each group."""
import multiprocessing
import os
import sys
from log_common import error_key, print_counts


def map_file(path):
    pairs = []
    with open(path, 'rb') as lines:
        for line in lines:
            key = error_key(line)
            if key is not None:
                pairs.append((key, 1))
    return pairs


def reduce_group(item):
    key, values = item
    return key, sum(values)


if __name__ == '__main__':
    processes = int(os.environ.get('PROCESSES', multiprocessing.cpu_count()))
    with multiprocessing.Pool(processes) as pool:
        groups = {}
        for pairs in pool.map(map_file, sys.argv[1:], chunksize=1):
            for key, value in pairs:
                groups.setdefault(key, []).append(value)
        print_counts(dict(pool.map(reduce_group, groups.items(), chunksize=256)))
