/*
 * What a first touch of fresh memory costs on this machine: maps N GiB of anonymous memory,
 * writes one byte per 4 KiB page (each write a page fault), and prints the time and the time
 * per page. `madvise` makes it ask for transparent huge pages too.
 *
 *   cc -O2 -o /tmp/first-touch bench/first-touch.c && /tmp/first-touch 1 && /tmp/first-touch 1 madvise
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv) {
  size_t bytes = (size_t)(argc > 1 ? atof(argv[1]) : 1) * (1UL << 30);
  int huge = argc > 2 && strcmp(argv[2], "madvise") == 0;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  char *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return perror("mmap"), 1;
  if (huge) madvise(memory, bytes, MADV_HUGEPAGE);
  for (size_t i = 0; i < bytes; i += 4096) memory[i] = 1;
  clock_gettime(CLOCK_MONOTONIC, &end);
  double ms = (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
  printf("%.2f GiB touched%s: %.0f ms, %.1f us per 4 KiB page\n", bytes / (double)(1UL << 30), huge ? " (MADV_HUGEPAGE)" : "", ms,
         ms * 1000 / (bytes / 4096));
  return 0;
}
