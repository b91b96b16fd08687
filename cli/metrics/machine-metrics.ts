/**
 * One Prometheus endpoint per machine: the supervisor keeps the latest metrics each worker
 * process sent with its heartbeat and adds them up (prom-client's aggregation: counters and
 * histograms summed, gauges summed across processes). A process that dies leaves its
 * counters and histograms behind, so totals never go backwards when it is replaced; its
 * gauges (calls in flight) go with it.
 */
import { AggregatorRegistry, Gauge, Registry } from 'prom-client';
import { metricsSnapshotSchema, type MetricsSnapshot } from './metrics-snapshot.js';

export class MachineMetrics {
  private readonly live = new Map<number, MetricsSnapshot>();
  /** What processes that ended had counted; merged into one snapshot at the next render. */
  private retired: MetricsSnapshot[] = [];
  private readonly own = new Registry();
  readonly contentType = this.own.contentType;

  constructor() {
    const live = this.live;
    new Gauge({
      name: 'redmap_worker_processes',
      help: 'Worker processes on this machine whose metrics arrived with their last heartbeat',
      registers: [this.own],
      collect() {
        this.set(live.size);
      },
    });
  }

  /** The latest metrics of a worker process; a malformed message is ignored. */
  update(pid: number, metrics: unknown): void {
    const parsed = metricsSnapshotSchema.safeParse(metrics);
    if (parsed.success) this.live.set(pid, parsed.data);
  }

  /** A worker process ended: keep what it counted, drop what it was doing. */
  retire(pid: number): void {
    const last = this.live.get(pid);
    if (!last) return;
    this.live.delete(pid);
    this.retired.push(last.filter((metric) => metric.type !== 'gauge'));
  }

  /** The machine's metrics in the Prometheus text format. */
  async render(): Promise<string> {
    if (this.retired.length > 1) {
      const merging = this.retired;
      this.retired = [];
      this.retired.unshift(await toSnapshot(AggregatorRegistry.aggregate(merging)));
    }
    const own = await toSnapshot(this.own);
    return AggregatorRegistry.aggregate([...this.live.values(), ...this.retired, own]).metrics();
  }
}

async function toSnapshot(registry: Registry): Promise<MetricsSnapshot> {
  return (await registry.getMetricsAsJSON()) as unknown as MetricsSnapshot;
}
