import type { Scenario } from '../support/scenario.js';
export const sessions: Scenario = {
  name: 'sessions',
  run: async () => {
    throw new Error('todo');
  },
};
