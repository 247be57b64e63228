/**
 * The generated test suite every machine gets: one test per transition, each asserting the
 * transition's declared effect; plus reachability, and that every transition has an effect.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { allTransitions } from '../../scripts/machine-graph.js';
import { findTransitionPaths, type MachineModel, replay, type World, writeCoverage } from './harness.js';

export async function describeTransitions<T extends AnyStateMachine, W extends World>(
  model: MachineModel<T, W>,
  inputLabel: (index: number) => string = () => '',
): Promise<void> {
  const { paths, unreached } = await findTransitionPaths(model);
  const labels = allTransitions(model.machine).map((t) => t.label);
  const covered = new Set<string>();

  describe(`${model.machine.id} machine: one generated path per transition`, () => {
    afterAll(() => writeCoverage(model.machine, covered));

    it('every transition is reachable with real children', () => {
      expect(unreached.map((t) => t.label)).toEqual([]);
    });

    it('every transition has a declared effect, and every declared effect a transition', () => {
      expect(labels.filter((label) => !(label in model.effects))).toEqual([]);
      expect(Object.keys(model.effects).filter((label) => !labels.includes(label))).toEqual([]);
    });

    for (const path of paths) {
      const suffix = inputLabel(path.inputIndex);
      it(`${path.transition.label}${suffix ? ` (${suffix})` : ''}`, async () => {
        const declared = model.effects[path.transition.label];
        expect(declared, `no effect declared for ${path.transition.label}`).toBeDefined();
        let checked = false;
        const result = await replay(model, path.inputIndex, path.steps, {
          onStep: (step, taken) => {
            for (const key of taken) covered.add(key);
            model.check?.(step);
          },
          onEnd: (end, effect) => {
            expect(end.lastTaken).toContain(path.transition.key);
            if (declared && effect) declared(effect);
            checked = effect !== undefined;
          },
        });
        expect(result.errors).toEqual([]);
        expect(checked).toBe(true);
      });
    }
  });
}
