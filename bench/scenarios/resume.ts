import type { Scenario } from '../support/scenario.js';
export const resume: Scenario = {
  name: 'resume',
  run: async () => {
    throw new Error('todo');
  },
};
