/** Markdown output of `npm run bench`. */
import type { Machine } from './machine.js';
import { formatMs, formatRatio } from './stats.js';

export interface Metric {
  /** Stable key for results.json, e.g. "postgres.replan.noop". */
  readonly id: string;
  readonly label: string;
  readonly ms: number;
  /** Id of the baseline metric the ratio is taken against. */
  readonly baseline?: string | undefined;
  readonly ratio?: number | undefined;
  readonly notes: string;
}

export interface BreakdownRow {
  readonly part: string;
  readonly ms: number;
  readonly notes: string;
}

export function withRatio(metric: Metric, baseline: Metric): Metric {
  return { ...metric, baseline: baseline.id, ratio: metric.ms / baseline.ms };
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function metricsTable(metrics: readonly Metric[], labels: ReadonlyMap<string, string>): string {
  const lines = ['| metric | value | ratio to baseline | notes |', '|---|---:|---:|---|'];
  for (const m of metrics) {
    const ratio =
      m.ratio === undefined ? '' : `${formatRatio(m.ratio)} ${labels.get(m.baseline ?? '') ?? m.baseline}`;
    lines.push(`| ${cell(m.label)} | ${formatMs(m.ms)} | ${cell(ratio)} | ${cell(m.notes)} |`);
  }
  return lines.join('\n');
}

export function breakdownTable(rows: readonly BreakdownRow[]): string {
  const lines = ['| part | time | notes |', '|---|---:|---|'];
  for (const r of rows) lines.push(`| ${cell(r.part)} | ${formatMs(r.ms)} | ${cell(r.notes)} |`);
  return lines.join('\n');
}

export function machineLines(machine: Machine, serverSettings: string, loadAtEnd: number): string {
  return [
    `- CPU: ${machine.cpu}, ${machine.cores} cores; RAM ${machine.ramGiB} GiB; ${machine.os}`,
    `- Node ${machine.node}; PostgreSQL ${machine.postgres} (${machine.postgresSource})`,
    `- Server settings: ${serverSettings}`,
    `- Load average (1 min) at start ${machine.loadAverageAtStart.toFixed(2)}, at end ${loadAtEnd.toFixed(2)} (on ${machine.cores} cores; other work skews the figures)`,
  ].join('\n');
}
