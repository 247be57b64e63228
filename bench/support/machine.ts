/** The machine a run was taken on, stored beside its figures. */
import { cpus, loadavg, totalmem } from 'node:os';

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
