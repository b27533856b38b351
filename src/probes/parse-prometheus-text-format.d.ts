/**
 * Types for parse-prometheus-text-format (the package ships none): the parts Gantry uses.
 * Every value is the text as written ("1027", "+Inf"); histogram and summary families carry
 * their series as `buckets`/`quantiles`/`count`/`sum` instead of `value`.
 */
declare module "parse-prometheus-text-format" {
  export interface PrometheusSample {
    value?: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
    count?: string;
    sum?: string;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
  }

  export interface PrometheusFamily {
    name: string;
    help: string;
    /** COUNTER, GAUGE, HISTOGRAM, SUMMARY or UNTYPED. */
    type: string;
    metrics: PrometheusSample[];
  }

  /** Throws on a line it cannot read. */
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
