/**
 * Probe declarations: how a check, a smoke test or a monitored signal is measured.
 * One block per probe type, told apart by `type:`. Each becomes a probe implementation
 * under src/probes/ with the same name.
 */
import * as z from "zod";
import { Command, Description, Duration, Expect, Name, Percent, Span, secretField } from "./common.js";

const base = {
  name: Name.optional().meta({ description: "A name for the result; required in lists such as smoke." }),
  description: Description.optional(),
  timeout: Duration.prefault("10s").meta({
    description: "Give up measuring after this long (phase `error`).",
  }),
};

const JsonPath = z
  .string()
  .regex(/^\$/, { error: "a JSONPath starts with `$`, e.g. $.status or $.data[0].id" })
  .meta({ description: "A JSONPath into the response body, e.g. $.status." });

const BodyAssertion = z.strictObject({
  path: JsonPath,
  equals: z
    .union([z.string(), z.number(), z.boolean(), z.null()])
    .optional()
    .meta({ description: "Exact value." }),
  matches: z.string().optional().meta({ description: "A regular expression the value must match." }),
  exists: z.boolean().optional().meta({ description: "The path must (true) or must not (false) exist." }),
  oneOf: z
    .array(z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .meta({ description: "Allowed values." }),
  expect: Expect.optional(),
});

const Budget = z
  .strictObject({
    p50: Duration.optional(),
    p95: Duration.optional(),
    p99: Duration.optional(),
    max: Duration.optional(),
    errorRate: Percent.optional().meta({ description: "Highest acceptable share of failed requests." }),
  })
  .meta({ description: "Latency and error budget over the samples taken." });

const FilePart = z.strictObject({
  file: z.string().meta({ description: "Path of the file to upload, relative to the runbook." }),
  contentType: z.string().optional(),
});

export const HttpProbe = z
  .strictObject({
    type: z.literal("http"),
    ...base,
    url: z.string().meta({ description: "The URL, e.g. {{ env.url }}/api/health." }),
    method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
    headers: z.record(z.string(), secretField("A header value.")).default({}),
    json: z.unknown().optional().meta({ description: "A JSON request body." }),
    form: z.record(z.string(), z.string()).optional().meta({ description: "A url-encoded form body." }),
    multipart: z
      .record(z.string(), z.union([z.string(), FilePart]))
      .optional()
      .meta({ description: "A multipart body: text fields and files." }),
    text: z.string().optional().meta({ description: "A raw text body." }),
    expect: z
      .strictObject({
        status: z
          .union([z.number().int(), z.array(z.number().int()).min(1)])
          .default([200])
          .meta({
            description: "Acceptable status codes, e.g. [200, 401] for 'reachable and auth working'.",
          }),
        body: z.array(BodyAssertion).default([]).meta({ description: "Assertions on the JSON body." }),
        contentType: z.string().optional(),
        minBytes: z.number().int().min(0).optional(),
      })
      .default({ status: [200], body: [] }),
    value: JsonPath.optional().meta({ description: "Read this field of the body as the measured value." }),
    capture: z
      .record(Name, JsonPath)
      .default({})
      .meta({ description: "Values to keep for later steps as {{ captures.<name> }}, e.g. token: $.token." }),
    samples: z.number().int().min(1).max(10_000).default(1).meta({ description: "Requests to make." }),
    budget: Budget.optional(),
    poll: z
      .strictObject({
        url: z.string().optional().meta({ description: "URL to poll; defaults to the request URL." }),
        path: JsonPath,
        until: z
          .union([z.string(), z.number(), z.boolean()])
          .meta({ description: "Stop when the field equals this." }),
        interval: Duration.prefault("1s"),
        timeout: Duration.prefault("2m"),
      })
      .optional()
      .meta({ description: "Follow an asynchronous job until a field has a value." }),
    download: z
      .strictObject({
        url: z.string().meta({ description: "URL of the result, may use {{ captures.* }}." }),
        contentType: z.string().optional(),
        minBytes: z.number().int().min(0).optional(),
      })
      .optional()
      .meta({ description: "Download the job's result and check its type and size." }),
  })
  .meta({ description: "An HTTP request with expectations on status, body and latency." });

export const TlsProbe = z
  .strictObject({
    type: z.literal("tls"),
    ...base,
    host: z.string(),
    // A template lets environments that serve the endpoint on another port (a local stand-in)
    // share the check: `port: "{{ env.vars.tls_port }}"`.
    port: z
      .union([z.number().int().min(1).max(65535), z.string().regex(/\{\{[\s\S]*\}\}/)])
      .default(443)
      .meta({ description: "Port, or a `{{ … }}` template that renders to one (e.g. from env.vars)." }),
    servername: z.string().optional().meta({ description: "SNI name; defaults to host." }),
    minDays: z
      .number()
      .int()
      .min(0)
      .default(14)
      .meta({ description: "Fail when the certificate expires sooner." }),
    protocols: z
      .array(z.enum(["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]))
      .min(1)
      .default(["TLSv1.2", "TLSv1.3"])
      .meta({ description: "Acceptable protocol versions." }),
    ca: z
      .string()
      .optional()
      .meta({ description: "A PEM file of extra trusted CAs (a private CA), relative to the runbook." }),
  })
  .meta({
    description:
      "A TLS endpoint: days until the certificate expires (the value), hostname match, chain validity, protocol version.",
  });

export const DnsProbe = z
  .strictObject({
    type: z.literal("dns"),
    ...base,
    name: z.string(),
    record: z.enum(["A", "AAAA", "CNAME", "TXT", "MX", "NS"]).default("A"),
    expect: z.array(z.string()).optional().meta({ description: "Records that must be present." }),
    server: z
      .string()
      .optional()
      .meta({ description: "Resolver to ask, host:port; defaults to the system's." }),
  })
  .meta({ description: "A DNS name resolves; the expected records are among the answers." });

export const TcpProbe = z
  .strictObject({
    type: z.literal("tcp"),
    ...base,
    host: z.string(),
    port: z.number().int().min(1).max(65535),
  })
  .meta({ description: "A TCP port accepts connections; the value is the connect time in ms." });

export const PostgresProbe = z
  .strictObject({
    type: z.literal("postgres"),
    ...base,
    url: secretField("Connection URL; defaults to the environment's database.url.").optional(),
    measure: z
      .enum(["connect", "pool-usage", "blocking-queries", "schema-version", "query"])
      .default("query")
      .meta({
        description:
          "connect (ms), pool-usage (% of max_connections; default expect < 80%), blocking-queries (count; default expect == 0), schema-version (the environment's database.schemaVersion query unless `query` is given), query.",
      }),
    query: z
      .string()
      .optional()
      .meta({ description: "SQL returning one value (measure: query, schema-version)." }),
    blockedFor: Duration.prefault("30s").meta({
      description: "For blocking-queries: count queries waiting longer.",
    }),
    expect: Expect.optional(),
    baseline: z
      .strictObject({
        tolerance: Percent.meta({ description: "Allowed change from the value before the deploy." }),
      })
      .optional()
      .meta({ description: "Capture the value before the deploy and compare after it." }),
  })
  .meta({
    description:
      "A Postgres database: connect time, connections in use as % of max_connections, queries blocked longer than blockedFor, the schema version, or any SQL returning one value.",
  });

export const RedisProbe = z
  .strictObject({
    type: z.literal("redis"),
    ...base,
    url: secretField("Connection URL; defaults to the environment's redis.url.").optional(),
    measure: z
      .enum(["ping", "memory", "clients", "evictions", "policy", "persistence"])
      .default("ping")
      .meta({
        description:
          "ping (latency ms), memory (used as % of maxmemory), clients (connected), evictions (evicted keys since the last sample), policy (maxmemory-policy), persistence (RDB or AOF on).",
      }),
    expect: Expect.optional(),
  })
  .meta({ description: "A Redis server, read through PING and INFO." });

export const PrometheusProbe = z
  .strictObject({
    type: z.literal("prometheus"),
    ...base,
    source: Name.meta({ description: "A metric source of the environment (environments.<env>.metrics)." }),
    query: z.string().meta({ description: "PromQL returning one value." }),
    range: Span.optional().meta({ description: "Evaluate over this range instead of an instant." }),
    step: Span.prefault("1m").meta({ description: "With range: the resolution of the range query." }),
    reduce: z
      .enum(["max", "min", "avg", "last"])
      .default("max")
      .meta({ description: "With range: how the points become one value." }),
    expect: Expect.optional(),
  })
  .meta({ description: "A PromQL query through the Prometheus HTTP API, instant or over a range." });

const MetricSelector = z
  .string()
  .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?$/, {
    error: (iss) =>
      `bad metric selector \`${String(iss.input)}\`: write a metric name with optional labels, e.g. http_requests_total{code=~"5.."}`,
  })
  .meta({
    description:
      'A metric name with optional label matchers (=, !=, =~, !~), e.g. http_requests_total{code=~"5.."}. Matching series are summed.',
  });

export const MetricsProbe = z
  .strictObject({
    type: z.literal("metrics"),
    ...base,
    url: z
      .string()
      .meta({ description: "A Prometheus text exposition endpoint, e.g. {{ env.url }}/metrics." }),
    headers: z.record(z.string(), secretField("A header value.")).default({}),
    gauge: MetricSelector.optional().meta({
      description: "Read the current value (summed over matching series).",
    }),
    rate: MetricSelector.optional().meta({
      description: "Per-second increase of a counter between two samples.",
    }),
    ratio: z.strictObject({ numerator: MetricSelector, denominator: MetricSelector }).optional().meta({
      description:
        "Increase of one counter over another between two samples, e.g. 5xx responses over all responses. The first sample uses the totals.",
    }),
    expect: Expect.optional(),
  })
  .meta({
    description:
      "A value read from Prometheus text exposition (a service's /metrics): a gauge, a counter rate, or a ratio of counters. Give exactly one of gauge, rate, ratio.",
  });

export const CommandProbe = z
  .strictObject({
    type: z.literal("command"),
    ...base,
    run: Command,
    parse: z.enum(["exit", "number", "json"]).default("exit").meta({ description: "How to read stdout." }),
    path: z.string().optional().meta({ description: "With parse: json, the JSONPath of the value." }),
    expect: Expect.optional(),
  })
  .meta({ description: "A shell command: its exit code, or stdout read as a number or JSON." });

export const SentryProbe = z
  .strictObject({
    type: z.literal("sentry"),
    ...base,
    source: Name.meta({ description: "A metric source of type sentry." }),
    measure: z
      .enum(["errors", "top-issues"])
      .default("errors")
      .meta({ description: "errors: the count (the value); top-issues: the most frequent issues, listed." }),
    query: z.string().optional().meta({ description: "Sentry search query, e.g. level:error." }),
    window: Span.prefault("1h").meta({
      description: "Count over this window when there is no deploy to count from (gantry check).",
    }),
    top: z.number().int().min(1).max(100).default(5).meta({ description: "With top-issues: how many." }),
    expect: Expect.optional(),
  })
  .meta({ description: "Errors reported to Sentry since the deploy, through Sentry's HTTP API." });

export const PosthogProbe = z
  .strictObject({
    type: z.literal("posthog"),
    ...base,
    source: Name.meta({ description: "A metric source of type posthog." }),
    event: z.string().optional().meta({ description: "Count this event." }),
    ratio: z
      .strictObject({ numerator: z.string(), denominator: z.union([z.string(), z.array(z.string()).min(1)]) })
      .optional()
      .meta({ description: "Ratio of event counts, e.g. completed over completed + failed." }),
    window: Span.prefault("15m").meta({
      description: "Count events over this window, or since the deploy when that is shorter.",
    }),
    expect: Expect.optional(),
  })
  .meta({ description: "Event counts or a ratio of them from PostHog, through its query API." });

export const PROBE_TYPES = [
  "http",
  "tls",
  "dns",
  "tcp",
  "postgres",
  "redis",
  "prometheus",
  "metrics",
  "command",
  "sentry",
  "posthog",
] as const;

export const Probe = z
  .discriminatedUnion("type", [
    HttpProbe,
    TlsProbe,
    DnsProbe,
    TcpProbe,
    PostgresProbe,
    RedisProbe,
    PrometheusProbe,
    MetricsProbe,
    CommandProbe,
    SentryProbe,
    PosthogProbe,
  ])
  .meta({ description: `A measurement. type: ${PROBE_TYPES.join(", ")}.` });

export type Probe = z.output<typeof Probe>;
