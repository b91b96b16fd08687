/**
 * A file input mapped as byte ranges (`split`). A range [start, end) owns the lines that
 * start in it (Hadoop's rule): it skips a partial first line unless start is 0, and reads
 * on past `end` to finish its last line, so every line is read whole by exactly one range.
 * The file's size and modification time at submit travel with each range: a task that
 * finds them changed fails rather than map other bytes.
 */
import { z } from 'zod';

export const fileRangeSchema = z
  .object({
    /** The file, as given at submit: a worker on another host must see it at the same path. */
    path: z.string().min(1),
    start: z.number().int().min(0),
    end: z.number().int().min(0),
    /** The file's size in bytes when the run was submitted. */
    size: z.number().int().min(0),
    /** The file's modification time (`stat().mtimeMs`) when the run was submitted. */
    mtimeMs: z.number(),
  })
  .refine((range) => range.start <= range.end && range.end <= range.size, {
    message: 'expected 0 <= start <= end <= size',
  });

export type FileRange = z.output<typeof fileRangeSchema>;

/** What a job over files takes: a plain path (the whole file) or a range of one. */
export const fileInputSchema = z.union([z.string().min(1), fileRangeSchema]);

export type FileInput = z.output<typeof fileInputSchema>;

/** Compressed files are read whole, never split: a gzip stream cannot be entered in the middle. */
export function isCompressedPath(path: string): boolean {
  return path.toLowerCase().endsWith('.gz');
}

/**
 * The ranges of `splitBytes` that cover a file of `size` bytes, one after another (a huge
 * file has millions: they are never all held at once); an empty file gets one empty range.
 */
export function* fileRanges(path: string, size: number, mtimeMs: number, splitBytes: number): Generator<FileRange> {
  if (size === 0) yield { path, start: 0, end: 0, size, mtimeMs };
  for (let start = 0; start < size; start += splitBytes) {
    yield { path, start, end: Math.min(start + splitBytes, size), size, mtimeMs };
  }
}
