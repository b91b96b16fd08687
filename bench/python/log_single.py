"""Baseline B (i): the log job in one Python process."""
import sys
from log_common import count_file, print_counts

totals = {}
for path in sys.argv[1:]:
    for key, count in count_file(path).items():
        totals[key] = totals.get(key, 0) + count
print_counts(totals)
