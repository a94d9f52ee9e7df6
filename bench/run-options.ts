/** The options of a plain `npm run bench` (bench/run.ts): parsed and checked here, run there. */
import { parseArgs } from 'node:util';
import { choose, commonOptions, list, runSettings } from './cli-args.js';
import { type Subject, SUBJECTS, type Transport, TRANSPORTS } from './subjects.js';
import type { WorkloadSettings } from './workloads.js';

const QUICK: WorkloadSettings = { warmupMs: 100, durationMs: 300 };

export interface RunOptions {
  quick: boolean;
  json: boolean;
  reps: number;
  only: string[];
  /** Overrides each workload's own transports when not empty. */
  transports: Transport[];
  /** The servers measured, interleaved. */
  subjects: Subject[];
  /** A git ref whose build runs as one more subject (`--compare-ref`), if given. */
  compareRef?: string;
  list: boolean;
  cpuProf: boolean;
  settings: WorkloadSettings;
}

/** @throws Error naming the flag, for an unknown option, subject, transport or a bad number. */
export function parseRunOptions(argv: string[]): RunOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...commonOptions(1),
      transports: { type: 'string', default: '' },
      subjects: { type: 'string', default: 'syncmgr' },
      'compare-ref': { type: 'string' },
      list: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const { reps, settings } = runSettings(values, QUICK);
  const compareRef = values['compare-ref']?.trim();
  if (compareRef === '') throw new Error('--compare-ref takes a git ref (a commit id, branch or tag)');
  const subjects = list(values.subjects);
  if (compareRef !== undefined && !subjects.includes('syncmgr')) {
    throw new Error(`--compare-ref sets a build of ${compareRef} against this working tree's syncmgr: keep syncmgr in --subjects`);
  }
  return {
    quick: values.quick,
    json: values.json,
    reps,
    only: list(values.only),
    transports: choose(values.transports, TRANSPORTS, 'transport'),
    subjects: subjects.map((name) => {
      const subject = SUBJECTS[name];
      if (subject === undefined) throw new Error(`unknown subject ${name}; known: ${Object.keys(SUBJECTS).join(', ')}`);
      return subject;
    }),
    ...(compareRef !== undefined && { compareRef }),
    list: values.list,
    cpuProf: values['cpu-prof'],
    settings,
  };
}
