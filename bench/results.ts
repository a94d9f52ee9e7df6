/**
 * Results: one {@link ResultRow} per (workload, subject, transport), holding every repetition and
 * their medians, and a {@link ResultsTable} that prints rows as an aligned text table or as JSON.
 * New columns are one entry in {@link COLUMNS}; a subject column appears once a table holds more
 * than one subject (comparison peers), a reps column once a row has more than one repetition.
 */
import { type LatencySummary, median, summarizeLatencies } from './stats.js';
import type { Measurement } from './workloads.js';

/** One repetition of one row. */
export interface RunResult {
  ops: number;
  seconds: number;
  opsPerSec: number;
  latency?: LatencySummary;
  /** The count the server held, which matched what the clients counted. */
  count: number;
  /**
   * CPU time of the server process (user + system, all threads) per operation, over warm-up and
   * measurement, in µs, where the bench watched it. It moves far less than ops/s when other
   * processes share the machine.
   */
  serverCpuUs?: number;
}

export interface ResultRow {
  workload: string;
  subject: string;
  transport: string;
  runs: RunResult[];
  /** Medians over runs. */
  opsPerSec: number;
  p50Us?: number;
  p99Us?: number;
  /** Every run's count check passed (a failed one throws before a row is made). */
  countCheck: 'exact';
}

/** Turns a verified measurement into a run. */
export function toRunResult(measurement: Measurement): RunResult {
  const latency = measurement.latenciesNs === undefined ? undefined : summarizeLatencies(measurement.latenciesNs);
  return {
    ops: measurement.ops,
    seconds: measurement.seconds,
    opsPerSec: measurement.ops / measurement.seconds,
    ...(latency !== undefined && { latency }),
    count: measurement.check.actual ?? 0,
  };
}

/** A row from its runs: each figure is the median over the runs. */
export function makeRow(workload: string, subject: string, transport: string, runs: RunResult[]): ResultRow {
  const p50Us = median(runs.map((run) => run.latency?.p50Us));
  const p99Us = median(runs.map((run) => run.latency?.p99Us));
  return {
    workload,
    subject,
    transport,
    runs,
    opsPerSec: median(runs.map((run) => run.opsPerSec)) ?? 0,
    ...(p50Us !== undefined && { p50Us }),
    ...(p99Us !== undefined && { p99Us }),
    countCheck: 'exact',
  };
}

interface Column {
  header: string;
  align: 'left' | 'right';
  value(row: ResultRow): string;
  /** Shown only when this says so for the table's rows (default: always). */
  shown?(rows: readonly ResultRow[]): boolean;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const micros = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const dash = '-';

const COLUMNS: readonly Column[] = [
  { header: 'workload', align: 'left', value: (row) => row.workload },
  {
    header: 'subject',
    align: 'left',
    value: (row) => row.subject,
    shown: (rows) => new Set(rows.map((row) => row.subject)).size > 1,
  },
  { header: 'transport', align: 'left', value: (row) => row.transport },
  { header: 'ops/s', align: 'right', value: (row) => integer.format(row.opsPerSec) },
  { header: 'p50 µs', align: 'right', value: (row) => (row.p50Us === undefined ? dash : micros.format(row.p50Us)) },
  { header: 'p99 µs', align: 'right', value: (row) => (row.p99Us === undefined ? dash : micros.format(row.p99Us)) },
  {
    header: 'ops/s min-max',
    align: 'right',
    value: (row) => spread(row.runs.map((run) => run.opsPerSec), integer),
    shown: (rows) => rows.some((row) => row.runs.length > 1),
  },
  {
    header: 'p99 min-max',
    align: 'right',
    value: (row) => spread(row.runs.map((run) => run.latency?.p99Us), micros),
    shown: (rows) => rows.some((row) => row.runs.length > 1),
  },
  {
    header: 'server CPU µs/op',
    align: 'right',
    value: (row) => {
      const cpu = median(row.runs.map((run) => run.serverCpuUs));
      return cpu === undefined ? dash : micros.format(cpu);
    },
    shown: (rows) => rows.some((row) => row.runs.some((run) => run.serverCpuUs !== undefined)),
  },
  {
    header: 'reps',
    align: 'right',
    value: (row) => String(row.runs.length),
    shown: (rows) => rows.some((row) => row.runs.length > 1),
  },
  {
    header: 'count check',
    align: 'left',
    value: (row) => `${row.countCheck} (${row.runs.map((run) => integer.format(run.count)).join(', ')})`,
  },
];

/** "min-max" of the defined values (the spread over repetitions), or a dash. */
function spread(values: ReadonlyArray<number | undefined>, format: Intl.NumberFormat): string {
  const defined = values.filter((value): value is number => value !== undefined && !Number.isNaN(value));
  if (defined.length === 0) return dash;
  return `${format.format(Math.min(...defined))}-${format.format(Math.max(...defined))}`;
}

export class ResultsTable {
  private readonly rows: ResultRow[] = [];

  add(row: ResultRow): void {
    this.rows.push(row);
  }

  get size(): number {
    return this.rows.length;
  }

  /** The rows as an aligned text table, header and rule first. */
  render(): string {
    const columns = COLUMNS.filter((column) => column.shown?.(this.rows) ?? true);
    const cells = [columns.map((column) => column.header), ...this.rows.map((row) => columns.map((column) => column.value(row)))];
    const widths = columns.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
    const format = (line: string[]): string =>
      line
        .map((cell, index) => (columns[index]!.align === 'right' ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!)))
        .join('  ')
        .trimEnd();
    const [header, ...body] = cells;
    return [format(header!), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(format)].join('\n');
  }

  toJSON(): ResultRow[] {
    return this.rows;
  }
}
