/**
 * What the dashboard saw of each run over time, for its progress and throughput charts:
 * a sample per refresh while a page watches the run, thinned as it grows. Redis keeps no
 * history, so a run's chart starts at its creation (nothing done) and fills in from when the
 * dashboard first looked; an ended run's chart ends at its finish.
 */

export interface ProgressSample {
  /** ms since the epoch */
  at: number;
  items: number;
  /** Map tasks settled (committed or failed for good). */
  tasks: number;
}

const MAX_SAMPLES = 720;
const MAX_RUNS = 200;

export class ProgressHistory {
  private readonly runs = new Map<string, ProgressSample[]>();

  record(runId: string, sample: ProgressSample): void {
    let samples = this.runs.get(runId);
    if (!samples) {
      if (this.runs.size >= MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
      samples = [];
      this.runs.set(runId, samples);
    }
    const last = samples[samples.length - 1];
    if (last && last.items === sample.items && last.tasks === sample.tasks && samples.length > 1) {
      // Nothing moved: keep the time, so a flat stretch is one segment, not hundreds of points.
      const previous = samples[samples.length - 2]!;
      if (previous.items === last.items && previous.tasks === last.tasks) samples.pop();
    }
    samples.push(sample);
    // Thin out evenly, keeping the first and the newest sample.
    if (samples.length > MAX_SAMPLES)
      this.runs.set(
        runId,
        samples.filter((_, i) => i % 2 === 0 || i === samples.length - 1),
      );
  }

  /** The run's samples, from its creation (nothing done) to its finish when it has ended. */
  of(runId: string, run: { createdAt: number; finishedAt: number | undefined; items: number; tasks: number }): ProgressSample[] {
    const seen = (this.runs.get(runId) ?? []).filter((sample) => sample.at >= run.createdAt);
    const start = { at: run.createdAt, items: 0, tasks: 0 };
    const samples = seen[0]?.at === run.createdAt ? seen : [start, ...seen];
    if (run.finishedAt !== undefined) {
      return [...samples.filter((sample) => sample.at < run.finishedAt!), { at: run.finishedAt, items: run.items, tasks: run.tasks }];
    }
    return samples;
  }
}
