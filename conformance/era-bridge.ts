/**
 * The era bridge's conformance: the 2026-07-28 CLIENT scenarios of the suite's 0.2.0-alpha
 * line (devDependency alias `conformance-next`), each run at `--spec-version 2026-07-28` twice:
 *
 *   direct     the SDK 2.x client (@modelcontextprotocol/client, version negotiation `auto`)
 *              on its own: the baseline, what a modern client does
 *   via proxy  the session-era SDK 1.x client -> mcp-shepherd (default options, so
 *              `--upstream-protocol auto`) -> the suite's 2026-07-28 test server: what the
 *              suite judges is the bridge's upstream behaviour
 *
 * Both are conformance/client-2026.ts; the suite appends its test server's URL.
 */
import { Suite, type Verdict } from './suite.js';

export const SPEC_2026 = '2026-07-28';

/** The client scenarios the suite's frozen requirements for 2026-07-28 name (requirements/2026-07-28.yaml). */
export const CLIENT_SCENARIOS_2026 = [
  'tools_call',
  'request-metadata',
  'sep-2322-client-request-state',
  'http-standard-headers',
  'http-custom-headers',
  'http-invalid-tool-headers',
];

/**
 * Scenarios that still fail through the proxy although they pass directly, each with why:
 * run and reported, but not failing `npm run conformance`. One that passes through the proxy
 * while listed here fails the run, so that the list never claims more than is true.
 */
export const BRIDGE_PENDING: ReadonlyMap<string, string> = new Map<string, string>([]);

export interface Client2026Row {
  scenario: string;
  direct: Verdict;
  proxy: Verdict;
}

export async function runClients2026(node: string, log: (line: string) => void): Promise<Client2026Row[]> {
  const suite = new Suite(node, 'next');
  const command = (flag: '--sdk2' | '--sdk1') => `${process.execPath} --import tsx conformance/client-2026.ts ${flag}`;
  const rows: Client2026Row[] = [];
  for (const scenario of CLIENT_SCENARIOS_2026) {
    log(`running the client scenario ${scenario} at ${SPEC_2026}`);
    rows.push({
      scenario,
      direct: await suite.client(scenario, command('--sdk2'), SPEC_2026),
      proxy: await suite.client(scenario, command('--sdk1'), SPEC_2026),
    });
  }
  return rows;
}
