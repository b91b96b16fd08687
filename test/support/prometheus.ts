/**
 * Reading a metrics endpoint the way Prometheus does. The text goes through a port of
 * Prometheus's own parser (parse-prometheus-text-format: it throws on a line Prometheus
 * would reject), then through stricter checks of our own (numeric values, every sample
 * under a declared TYPE, histograms whose +Inf bucket equals their count), and comes
 * back as samples to look values up in.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  parsePrometheusTextFormat(text);
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const value = Number(match[3] === '+Inf' ? Infinity : match[3]);
    if (Number.isNaN(value)) throw new Error(`not a number: ${line}`);
    const family = match[1]!.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(match[1]!) && !types.has(family)) throw new Error(`a sample before its TYPE line: ${line}`);
    const labels = Object.fromEntries(Array.from((match[2] ?? '').matchAll(LABEL), (label) => [label[1]!, label[2]!]));
    samples.push({ name: match[1]!, labels, value });
  }
  checkHistograms(samples, types);
  return samples;
}

function checkHistograms(samples: Sample[], types: Map<string, string>): void {
  for (const [name, type] of types) {
    if (type !== 'histogram') continue;
    for (const count of samples.filter((sample) => sample.name === `${name}_count`)) {
      const inf = samples.find(
        (sample) => sample.name === `${name}_bucket` && sample.labels.le === '+Inf' && sameSeries(sample.labels, count.labels),
      );
      if (inf?.value !== count.value) throw new Error(`${name}${JSON.stringify(count.labels)}: +Inf bucket differs from the count`);
    }
  }
}

function sameSeries(bucket: Record<string, string>, other: Record<string, string>): boolean {
  const { le: _le, ...rest } = bucket;
  return JSON.stringify(Object.entries(rest).sort()) === JSON.stringify(Object.entries(other).sort());
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none yet). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** How many observations a histogram holds for these labels. */
export function countOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return valueOf(samples, `${name}_count`, labels);
}
