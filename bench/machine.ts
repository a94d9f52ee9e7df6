/** What every bench mode says about the machine it ran on: its meta fields and load lines. */
import { cpus, loadavg } from 'node:os';

export interface MachineInfo {
  date: string;
  node: string;
  platform: string;
  /** e.g. `AMD EPYC x 2`. */
  cpu: string;
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: `${cpuList[0]?.model.trim() ?? 'unknown'} x ${cpuList.length}`,
  };
}

/** The 1-minute load average now. */
export function currentLoad(): number {
  return loadavg()[0]!;
}

/**
 * `load average (1 min) at start: …`, flagged when the machine is busy. The bench's own processes
 * keep the 1-minute load near 2 while they run; well above that, other work shares the machine and
 * the ratios move with it.
 */
export function loadAtStartLine(load = currentLoad()): string {
  const cores = cpus().length;
  const busy = load > cores + 1 ? ' (BUSY: other processes share this machine; treat the figures as noisy and re-run when it is idle)' : '';
  return `load average (1 min) at start: ${load.toFixed(2)} on ${cores} CPUs${busy}`;
}
