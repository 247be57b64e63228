/** The machine a run was taken on, stored beside its figures. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { repoDir } from './processes.js';

export function describeMachine() {
  const cpu = cpus()[0];
  return {
    cpuModel: cpu?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    /** 1-minute load when the run started: the other tenants of a shared machine. */
    loadAverageAtStart: Number(loadavg()[0]?.toFixed(2)),
  };
}

/** The commit measured, and the files of the proxy that differed from it (a shared checkout moves). */
export function describeSource() {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: repoDir, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommitted: git('status', '--porcelain', '--', 'src', 'machines').split('\n').filter(Boolean),
  };
}
