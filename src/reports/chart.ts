/**
 * One monitored signal as an inline SVG chart: its measurements over time, each rule's
 * threshold as a dashed line, the moments of the deploy and the rollback as vertical lines,
 * and measurements that failed as crosses on the axis. A signal with text values (`ready`,
 * `not_ready`) is drawn on one level per value. No script, no external asset, every text escaped.
 */
import { escapeXml as x } from "./escape.js";
import { clock, duration, value } from "./format.js";
import type { SignalSeries } from "./record.js";

export interface Moment {
  at: string;
  label: string;
}

const W = 720;
const H = 200;
const LEFT = 64;
const RIGHT = 16;
const TOP = 34;
const BOTTOM = 26;

export function signalChart(series: SignalSeries, moments: Moment[]): string {
  const measured = series.points.filter((p) => p.phase !== "error" && p.value !== null);
  const numeric = measured.every((p) => typeof p.value === "number");
  const levels = numeric ? [] : textLevels(series);
  const yOf = (v: unknown): number => (numeric ? Number(v) : levels.indexOf(value(v)));
  // A threshold relative to a baseline that was never measured has no line to draw.
  const thresholds = series.rules.filter(
    (r) => r.threshold !== null && (typeof r.threshold === "number") === numeric,
  );
  const ys = [...measured.map((p) => yOf(p.value)), ...thresholds.map((r) => yOf(r.threshold))];
  let low = numeric ? Math.min(0, ...ys) : 0;
  let high = numeric ? Math.max(...ys, low) : Math.max(levels.length - 1, 1);
  if (high === low) high = low + 1;
  if (numeric) high += (high - low) * 0.1;
  else low -= 0.25;
  const times = [...series.points.map((p) => Date.parse(p.at)), ...moments.map((m) => Date.parse(m.at))];
  const start = Math.min(...times);
  const end = Math.max(...times, start + 1);
  const px = (t: number) => LEFT + ((t - start) / (end - start)) * (W - LEFT - RIGHT);
  const py = (v: number) => H - BOTTOM - ((v - low) / (high - low)) * (H - TOP - BOTTOM);
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${x(`signal ${series.name}`)}">`,
    `<title>${x(`${series.name}: ${series.points.length} measurements`)}</title>`,
    `<rect x="${LEFT}" y="${TOP}" width="${W - LEFT - RIGHT}" height="${H - TOP - BOTTOM}" fill="#fafafa" stroke="#ccc"/>`,
  ];
  // The y axis: the range for numbers, each level for text values.
  const ticks = numeric ? [low, high] : levels.map((_, i) => i);
  for (const t of ticks) {
    const label = numeric ? value(t) : levels[t]!;
    parts.push(`<text x="${LEFT - 6}" y="${f(py(t) + 4)}" text-anchor="end" class="axis">${x(label)}</text>`);
  }
  parts.push(`<text x="${LEFT}" y="${H - 8}" class="axis">${x(clock(new Date(start).toISOString()))}</text>`);
  parts.push(
    `<text x="${W - RIGHT}" y="${H - 8}" text-anchor="end" class="axis">${x(clock(new Date(end).toISOString()))}</text>`,
  );
  for (const r of thresholds) {
    const y = py(yOf(r.threshold));
    // Below the line when the line runs along the top, where the moments have their labels.
    const ly = y - 4 < TOP + 10 ? y + 13 : y - 4;
    parts.push(
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f(y)}" y2="${f(y)}" stroke="#c62828" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${W - RIGHT - 4}" y="${f(ly)}" text-anchor="end" class="rule">${x(`${r.name}: ${r.when} for ${duration(r.forMs)} (${r.severity})`)}</text>`,
    );
  }
  // Moments close together get their labels on two rows, kept inside the chart's width.
  moments.forEach((m, i) => {
    const at = px(Date.parse(m.at));
    const anchor = at > W - RIGHT - 60 ? "end" : at < LEFT + 40 ? "start" : "middle";
    parts.push(
      `<line x1="${f(at)}" x2="${f(at)}" y1="${TOP}" y2="${H - BOTTOM}" stroke="#1565c0" stroke-width="1.5"/>`,
    );
    parts.push(
      `<text x="${f(at)}" y="${TOP - 6 - (i % 2) * 13}" text-anchor="${anchor}" class="moment">${x(m.label)}</text>`,
    );
  });
  // Numbers as a line from sample to sample; text values hold until the next sample.
  const line = measured
    .map((p, i) => {
      const point = `${f(px(Date.parse(p.at)))},${f(py(yOf(p.value)))}`;
      const prev = measured[i - 1];
      return numeric || !prev ? point : `${f(px(Date.parse(p.at)))},${f(py(yOf(prev.value)))} ${point}`;
    })
    .join(" ");
  if (line) parts.push(`<polyline points="${line}" fill="none" stroke="#2e7d32" stroke-width="2"/>`);
  for (const p of series.points.filter((q) => q.phase === "error" || q.value === null)) {
    const ex = px(Date.parse(p.at));
    const ey = H - BOTTOM;
    parts.push(
      `<path d="M${f(ex - 4)},${f(ey - 4)}L${f(ex + 4)},${f(ey + 4)}M${f(ex - 4)},${f(ey + 4)}L${f(ex + 4)},${f(ey - 4)}" stroke="#c62828" stroke-width="2"><title>${x(`sample ${p.sample}: ${p.phase}`)}</title></path>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}

/** The distinct text values of a signal and of its rules' thresholds, in the order first seen. */
function textLevels(series: SignalSeries): string[] {
  const levels: string[] = [];
  const add = (v: unknown) => {
    const t = value(v);
    if (!levels.includes(t)) levels.push(t);
  };
  for (const p of series.points) if (p.phase !== "error" && p.value !== null) add(p.value);
  for (const r of series.rules) if (typeof r.threshold !== "number") add(r.threshold);
  return levels;
}
