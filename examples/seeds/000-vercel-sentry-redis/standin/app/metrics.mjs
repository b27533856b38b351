/**
 * The app's Prometheus counters, written as the text exposition format Prometheus scrapes at
 * /metrics. Only counters: the seed's dashboards read rates and increases of them.
 */
export class Counters {
  /** name → (label set as text → value) */
  #series = new Map();
  #help = new Map();

  constructor(help) {
    for (const [name, text] of Object.entries(help)) {
      this.#help.set(name, text);
      this.#series.set(name, new Map());
    }
  }

  inc(name, labels = {}, by = 1) {
    const series = this.#series.get(name);
    if (!series) throw new Error(`unknown counter ${name}`);
    const key = Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(String(v))}`)
      .join(",");
    series.set(key, (series.get(key) ?? 0) + by);
  }

  value(name, labels = {}) {
    const key = Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(String(v))}`)
      .join(",");
    return this.#series.get(name)?.get(key) ?? 0;
  }

  text() {
    const lines = [];
    for (const [name, series] of this.#series) {
      lines.push(`# HELP ${name} ${this.#help.get(name)}`, `# TYPE ${name} counter`);
      for (const [labels, value] of series) lines.push(`${name}${labels ? `{${labels}}` : ""} ${value}`);
    }
    return `${lines.join("\n")}\n`;
  }
}
