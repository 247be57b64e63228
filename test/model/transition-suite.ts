/** The generated test suite every machine gets: one test per transition, plus reachability. */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { findTransitionPaths, type MachineModel, replay, writeCoverage } from './harness.js';

export function describeTransitions<T extends AnyStateMachine>(
  model: MachineModel<T>,
  inputLabel: (index: number) => string = () => '',
): void {
  const { paths, unreached } = findTransitionPaths(model);
  const covered = new Set<string>();

  describe(`${model.machine.id} machine: one generated path per transition`, () => {
    afterAll(() => writeCoverage(model.machine, covered));

    it('every transition is reachable', () => {
      expect(unreached.map((t) => t.label)).toEqual([]);
    });

    for (const path of paths) {
      const suffix = inputLabel(path.inputIndex);
      it(`${path.transition.label}${suffix ? ` (${suffix})` : ''}`, () => {
        const result = replay(model, path.inputIndex, path.steps, (step, taken) => {
          for (const key of taken) covered.add(key);
          model.check?.(step);
        });
        expect(result.errors).toEqual([]);
        expect(result.lastTaken).toContain(path.transition.key);
      });
    }
  });
}
