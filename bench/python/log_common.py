"""What the Python baselines share: the line grammar of examples/log-errors/README.md and the output."""
import re
import sys

# "METHOD TARGET HTTP/x" STATUS BYTES "REFERER" "AGENT", status 400-599.
LINE = re.compile(rb'^[^"]*\] "[A-Z]+ ([^ "]+) HTTP/[^ "]+" ([45]\d\d) \d+ "[^"]*" "[^"]*"$')


def error_key(line):
    """The key of a line that counts, else None."""
    match = LINE.match(line.rstrip(b'\r\n'))
    if not match:
        return None
    target = match.group(1)
    query = target.find(b'?')
    path = target if query == -1 else target[:query]
    return match.group(2) + b' ' + path


def count_file(path):
    counts = {}
    with open(path, 'rb') as lines:
        for line in lines:
            key = error_key(line)
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
    return counts


def print_counts(counts):
    out = sys.stdout.buffer
    for key in sorted(counts):
        out.write(b'%d %s\n' % (counts[key], key))
