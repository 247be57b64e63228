import type { Scenario } from '../support/scenario.js';
export const stdio: Scenario = {
  name: 'stdio',
  run: async () => {
    throw new Error('todo');
  },
};
