// parse-prometheus-text-format ships no types: a port of Prometheus's own text parser.
declare module 'parse-prometheus-text-format' {
  export interface ParsedMetricValue {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface ParsedMetricFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: ParsedMetricValue[];
  }
  export default function parsePrometheusTextFormat(text: string): ParsedMetricFamily[];
}
