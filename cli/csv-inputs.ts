/**
 * `--input-format csv`: a header row, then one object per row keyed by the header's names
 * (values are strings, as CSV has no types: a job's schema may coerce them). Streamed through
 * csv-parse, a record at a time. A row that is not valid CSV (a wrong number of fields, a
 * quote never closed) is reported with the line it is on.
 */

export interface CsvRow {
  record: Record<string, string>;
  /** The line the row starts on, counting from 1 (the header is line 1). */
  line: number;
}

/** A row csv-parse cannot read: the line it starts on, and how many rows of its file came before it. */
export class CsvRowError extends Error {
  constructor(
    readonly line: number,
    readonly rowsBefore: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export async function* readCsvRows(stream: NodeJS.ReadableStream): AsyncGenerator<CsvRow> {
  // Loaded here, not with the CLI: only CSV inputs need it (about 10 ms of a start-up).
  const { parse } = await import('csv-parse');
  const parser = stream.pipe(
    parse({
      columns: true,
      bom: true,
      skip_empty_lines: true,
      // `info` says on which line a row ends; `raw` lets us find the line it starts on.
      info: true,
      raw: true,
    }),
  );
  try {
    for await (const row of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number }; raw: string }>) {
      yield { record: row.record, line: startLine(row.info.lines, row.raw) };
    }
  } catch (error) {
    throw asRowError(error);
  } finally {
    // Stopped early (the run ended, an item was rejected): let go of the file.
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

/** The first line of a row that ends on `endLine`: its raw text (blank lines before it skipped) spans the lines between. */
export function startLine(endLine: number, raw: string): number {
  const text = raw.replace(/^[\r\n]+/, '').replace(/\r?\n$|\r$/, '');
  const breaks = text.match(/\r\n|\r|\n/g)?.length ?? 0;
  return endLine - breaks;
}

function asRowError(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('CSV_')) return error;
  const { lines, raw, records, message } = error as { lines?: number; raw?: string; records?: number; message: string };
  // csv-parse ends its messages with the line it had reached (for a quote never closed, the
  // last one); we name the line the row starts on ourselves.
  const reason = message.replace(/,? (on|at) line \d+\.?$/, '');
  return new CsvRowError(startLine(lines ?? 0, raw ?? ''), records ?? 0, reason);
}
