/**
 * The era bridge's other direction: the suite's 2026-07-28 SERVER scenarios (0.2.0-alpha line,
 * devDependency alias `conformance-next`) run at `--spec-version 2026-07-28` against
 * mcp-shepherd (the real command line, default options) in front of a session-era
 * (2025-11-25) SDK 1.x server, conformance/era-bridge-upstream.ts. The suite speaks only the
 * stateless wire (`server/discover`, the `_meta` envelope, `input_required`,
 * `subscriptions/listen`); the upstream only sessions (initialize, server-to-client requests on
 * the call's stream, the GET stream). What passes, the bridge provides.
 *
 * Before that, an SDK 1.x client checks the upstream on its own (2025-11-25): each tool asks
 * for the inputs the scenarios expect, under the keys they expect, in the rounds they expect.
 * A scenario that fails then is the upstream's fault, not the bridge's, so that fails the run.
 *
 * Alone: `tsx conformance/era-bridge-server.ts [--output-dir <dir>] [scenario ...]`: every
 * scenario (or those named), one line each, the failing checks under a failing one; exits 1
 * on a problem (below), as `npm run conformance` counts it.
 */
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type ClientCapabilities,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type JSONRPCRequest,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { main as shepherd } from '../src/cli.js';
import type { DemoServer } from '../src/demo/demo-server.js';
import { SPEC_2026 } from './era-bridge.js';
import {
  DYNAMIC_PROMPT,
  DYNAMIC_TOOL,
  INPUT_KEY_META,
  RESOURCE_NOT_FOUND,
  startBridgeUpstream,
} from './era-bridge-upstream.js';
import { node22 } from './node22.js';
import { Suite, type Verdict } from './suite.js';

/** The 2026-07-28 server scenarios of the issue "2026-07-28 clients over 2025 session servers". */
export const SERVER_SCENARIOS_2026 = [
  'server-stateless',
  'caching',
  'sep-2164-resource-not-found',
  'input-required-result-basic-elicitation',
  'input-required-result-basic-sampling',
  'input-required-result-basic-list-roots',
  'input-required-result-request-state',
  'input-required-result-multiple-input-requests',
  'input-required-result-multi-round',
  'input-required-result-missing-input-response',
  'input-required-result-non-tool-request',
  'input-required-result-result-type',
  'input-required-result-unsupported-methods',
  'input-required-result-tampered-state',
  'input-required-result-capability-check',
  'input-required-result-ignore-extra-params',
  'input-required-result-validate-input',
];

/**
 * Scenarios that still fail through the proxy, each with why: run and reported, but not
 * failing `npm run conformance`. One that passes while listed here fails the run, so that the
 * list never claims more than is true; one that fails while not listed fails it too.
 */
export const SERVER_BRIDGE_PENDING: ReadonlyMap<string, string> = new Map<string, string>([]);

export interface Server2026Row {
  scenario: string;
  proxy: Verdict;
}

export interface Servers2026 {
  /** The upstream on its own, with an SDK 1.x client at 2025-11-25. */
  upstream: Verdict;
  rows: Server2026Row[];
}

export async function runServers2026(
  node: string,
  log: (line: string) => void,
  scenarios: readonly string[] = SERVER_SCENARIOS_2026,
  outputDir?: string,
): Promise<Servers2026> {
  const suite = new Suite(node, 'next');
  const upstream = await startBridgeUpstream();
  try {
    log(`checking the 2025 upstream of the ${SPEC_2026} server scenarios (${upstream.urlVia()})`);
    const check = await checkUpstream(upstream);
    const proxy = await shepherd(['--upstream', upstream.urlVia(), '--port', '0', '--log-level', 'error']);
    if (!proxy) throw new Error('mcp-shepherd did not start');
    const rows: Server2026Row[] = [];
    try {
      for (const scenario of scenarios) {
        log(`running the server scenario ${scenario} at ${SPEC_2026} (era bridge, ${proxy.url})`);
        rows.push({ scenario, proxy: await suite.server(proxy.url, scenario, SPEC_2026, outputDir) });
      }
    } finally {
      await proxy.stop('done');
    }
    return { upstream: check, rows };
  } finally {
    await upstream.close();
  }
}

/** What fails the run: the upstream's own check, a listed scenario that passes, an unlisted one that fails. */
export function servers2026Problems({ upstream, rows }: Servers2026): string[] {
  const problems: string[] = [];
  if (!upstream.passed) problems.push(`the 2025 upstream of the ${SPEC_2026} server scenarios: ${upstream.reason}`);
  for (const { scenario, proxy } of rows) {
    const pending = SERVER_BRIDGE_PENDING.has(scenario);
    if (pending && proxy.passed) {
      problems.push(
        `server scenario ${scenario} at ${SPEC_2026} passes through the proxy: take it off SERVER_BRIDGE_PENDING`,
      );
    } else if (!pending && !proxy.passed) {
      problems.push(`server scenario ${scenario} at ${SPEC_2026} fails through the proxy: ${proxy.reason}`);
    }
  }
  return problems;
}

/** One line per scenario (and the upstream's check); with `reasons`, the failing checks under a failing one. */
export function printServers2026(
  { upstream, rows }: Servers2026,
  write: (line: string) => void,
  reasons = false,
): void {
  const mark = (v: Verdict) => (v.passed ? 'pass' : 'FAIL');
  const line = (name: string, where: string, v: Verdict, note = '') => {
    write(`server@${SPEC_2026} ${name.padEnd(47)} ${where} ${mark(v)}${note}`);
    if (reasons && !v.passed) write(`    ${v.reason}`);
  };
  line('(the 2025 upstream itself, SDK 1.x client)', 'direct', upstream);
  for (const { scenario, proxy } of rows) {
    line(scenario, 'proxy', proxy, SERVER_BRIDGE_PENDING.has(scenario) ? ' (pending)' : '');
  }
}

// ---------------------------------------------------------------------------------------------
// The upstream on its own

/** One server-to-client request as the client saw it: its key hint and method. */
type Asked = `${string}:${string}`;

const ANSWERS: Record<string, string | boolean> = {
  name: 'Alice',
  color: 'blue',
  context: 'test context',
  ok: true,
  confirm: true,
};

const within = <T>(ms: number, what: string, pending: Promise<T>): Promise<T> =>
  Promise.race([
    pending,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
  ]);

/** An SDK 1.x client that records every request for input (and how many were open at once) and answers it. */
class RecordingClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  asked: Asked[] = [];
  open = 0;
  maxOpen = 0;
  readonly notifications: string[] = [];

  constructor(url: string, capabilities: ClientCapabilities) {
    this.client = new Client({ name: 'mcp-shepherd-conformance-upstream-check', version: '1.0.0' }, { capabilities });
    this.transport = new StreamableHTTPClientTransport(new URL(url));
    const hold = async <T>(
      method: string,
      params: { _meta?: Record<string, unknown> | undefined } | undefined,
      answer: T,
    ) => {
      this.asked.push(`${String(params?._meta?.[INPUT_KEY_META])}:${method}`);
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      await new Promise((resolve) => setTimeout(resolve, 100)); // so that requests sent together are open together
      this.open--;
      return answer;
    };
    if (capabilities.elicitation) {
      this.client.setRequestHandler(ElicitRequestSchema, async (request) => {
        const schema = 'requestedSchema' in request.params ? request.params.requestedSchema : undefined;
        const content = Object.fromEntries(Object.keys(schema?.properties ?? {}).map((p) => [p, ANSWERS[p] ?? 'x']));
        return hold(request.method, request.params, { action: 'accept' as const, content });
      });
    }
    if (capabilities.sampling) {
      this.client.setRequestHandler(CreateMessageRequestSchema, async (request) =>
        hold(request.method, request.params, {
          role: 'assistant' as const,
          content: { type: 'text' as const, text: 'Paris' },
          model: 'test-model',
        }),
      );
    }
    if (capabilities.roots) {
      this.client.setRequestHandler(ListRootsRequestSchema, async (request) =>
        hold(request.method, request.params, { roots: [{ uri: 'file:///test/root', name: 'Test Root' }] }),
      );
    }
    // Requests for a capability the client did not declare: recorded, refused as the SDK does.
    this.client.fallbackRequestHandler = async (request: JSONRPCRequest) => {
      const params = request.params as { _meta?: Record<string, unknown> | undefined } | undefined;
      this.asked.push(`${String(params?._meta?.[INPUT_KEY_META])}:${request.method}`);
      throw new McpError(-32601, 'Method not found');
    };
    this.client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => {
      this.notifications.push(`${n.method}:${String(n.params.data)}`);
    });
    this.client.setNotificationHandler(ToolListChangedNotificationSchema, async (n) => {
      this.notifications.push(n.method);
    });
    this.client.setNotificationHandler(PromptListChangedNotificationSchema, async (n) => {
      this.notifications.push(n.method);
    });
  }

  reset(): void {
    this.asked = [];
    this.maxOpen = 0;
    this.notifications.length = 0;
  }

  async close(): Promise<void> {
    await this.transport.terminateSession().catch(() => undefined);
    await this.client.close();
  }
}

const resultText = (result: unknown): string =>
  ((result as { content?: { type: string; text?: string }[] }).content ?? [])
    .map((c) => (c.type === 'text' ? c.text : `[${c.type}]`))
    .join(' ');

interface Probe {
  what: string;
  run: (client: RecordingClient) => Promise<unknown>;
  /** The requests for input, in order (`key:method`). */
  asked: Asked[];
  /** At most this many open at once (1: one after the other); at least, when `together`. */
  open?: number;
  together?: boolean;
  text?: RegExp;
}

const call = (name: string) => (c: RecordingClient) => c.client.callTool({ name, arguments: {} });
const ELICIT = 'elicitation/create';
const SAMPLE = 'sampling/createMessage';
const ROOTS = 'roots/list';

/** Each tool and prompt of the upstream with a client that declares everything. */
const PROBES: Probe[] = [
  {
    what: 'test_input_required_result_elicitation',
    run: call('test_input_required_result_elicitation'),
    asked: [`user_name:${ELICIT}`],
    text: /Hello, Alice!/,
  },
  {
    what: 'test_input_required_result_sampling',
    run: call('test_input_required_result_sampling'),
    asked: [`capital_question:${SAMPLE}`],
    text: /Paris/,
  },
  {
    what: 'test_input_required_result_list_roots',
    run: call('test_input_required_result_list_roots'),
    asked: [`client_roots:${ROOTS}`],
    text: /file:\/\/\/test\/root/,
  },
  {
    what: 'test_input_required_result_request_state',
    run: call('test_input_required_result_request_state'),
    asked: [`confirm:${ELICIT}`],
    text: /state-ok/,
  },
  {
    what: 'test_input_required_result_multiple_inputs',
    run: call('test_input_required_result_multiple_inputs'),
    asked: [`user_name:${ELICIT}`, `greeting:${SAMPLE}`, `client_roots:${ROOTS}`],
    open: 3,
    together: true,
  },
  {
    what: 'test_input_required_result_multi_round',
    run: call('test_input_required_result_multi_round'),
    asked: [`step1:${ELICIT}`, `step2:${ELICIT}`],
    open: 1,
    text: /Alice likes blue/,
  },
  {
    what: 'test_input_required_result_tampered_state',
    run: call('test_input_required_result_tampered_state'),
    asked: [`confirm:${ELICIT}`],
  },
  {
    what: 'test_input_required_result_capabilities (sampling and elicitation declared)',
    run: call('test_input_required_result_capabilities'),
    asked: [`sampling_request:${SAMPLE}`, `elicitation_request:${ELICIT}`],
    together: true,
    open: 2,
  },
  {
    what: 'prompts/get test_input_required_result_prompt',
    run: (c) => c.client.getPrompt({ name: 'test_input_required_result_prompt' }),
    asked: [`user_context:${ELICIT}`],
  },
  { what: 'test_missing_capability', run: call('test_missing_capability'), asked: [`required_sampling:${SAMPLE}`] },
  {
    what: 'test_streaming_elicitation',
    run: call('test_streaming_elicitation'),
    asked: [`streaming_confirm:${ELICIT}`],
  },
];

async function checkUpstream(upstream: DemoServer): Promise<Verdict> {
  const url = upstream.urlVia();
  const problems: string[] = [];
  const everything = new RecordingClient(url, { sampling: {}, elicitation: {}, roots: { listChanged: true } });
  const samplingOnly = new RecordingClient(url, { sampling: {} });
  const nothing = new RecordingClient(url, {});
  const clients = [everything, samplingOnly, nothing];
  const expect = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  try {
    for (const c of clients) await c.client.connect(c.transport);
    for (const probe of PROBES) {
      everything.reset();
      try {
        const result = await within(5000, probe.what, probe.run(everything));
        const asked = probe.together ? [...everything.asked].sort() : everything.asked;
        const wanted = probe.together ? [...probe.asked].sort() : probe.asked;
        expect(
          JSON.stringify(asked) === JSON.stringify(wanted),
          `${probe.what} asked ${asked.join(', ') || 'nothing'}, expected ${wanted.join(', ')}`,
        );
        if (probe.open !== undefined) {
          const ok = probe.together ? everything.maxOpen >= probe.open : everything.maxOpen <= probe.open;
          expect(ok, `${probe.what}: ${everything.maxOpen} requests open at once, expected ${probe.open}`);
        }
        if (probe.text) expect(probe.text.test(resultText(result)), `${probe.what} answered ${resultText(result)}`);
        expect(!(result as { isError?: boolean }).isError, `${probe.what} answered an error: ${resultText(result)}`);
      } catch (error) {
        problems.push(`${probe.what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    // Capabilities come from the session's initialize.
    const capabilities = await samplingOnly.client.callTool({
      name: 'test_input_required_result_capabilities',
      arguments: {},
    });
    expect(
      JSON.stringify(samplingOnly.asked) === JSON.stringify([`sampling_request:${SAMPLE}`]),
      `test_input_required_result_capabilities with sampling only asked ${samplingOnly.asked.join(', ')}: ${resultText(capabilities)}`,
    );
    // test_missing_capability asks for sampling whatever the client declared (the bridge turns that into -32021).
    const refused = await nothing.client.callTool({ name: 'test_missing_capability', arguments: {} }).then(
      () => 'a result',
      (error: unknown) => (error instanceof McpError ? `error ${error.code}` : String(error)),
    );
    expect(
      JSON.stringify(nothing.asked) === JSON.stringify([`required_sampling:${SAMPLE}`]),
      `test_missing_capability with no capabilities asked ${nothing.asked.join(', ') || 'nothing'} (${refused})`,
    );

    everything.reset();
    const logged = await everything.client.callTool({ name: 'test_logging_tool', arguments: {} });
    expect(
      everything.notifications.filter((n) => n.startsWith('notifications/message')).length === 3,
      `test_logging_tool sent ${everything.notifications.length} log messages, expected 3 (${resultText(logged)})`,
    );

    // List changes reach every session's GET stream, and the lists follow.
    await within(
      5000,
      'the GET streams',
      waitFor(() => upstream.openGetStreams >= clients.length),
    );
    for (const [trigger, notification, list, item] of [
      [
        'test_trigger_tool_change',
        'notifications/tools/list_changed',
        async () => (await everything.client.listTools()).tools.map((t) => t.name),
        DYNAMIC_TOOL,
      ],
      [
        'test_trigger_prompt_change',
        'notifications/prompts/list_changed',
        async () => (await everything.client.listPrompts()).prompts.map((p) => p.name),
        DYNAMIC_PROMPT,
      ],
    ] as const) {
      for (const present of [true, false]) {
        for (const c of clients) c.reset();
        await everything.client.callTool({ name: trigger, arguments: {} });
        try {
          await within(
            2000,
            `${trigger}: ${notification} on every session`,
            waitFor(() => clients.every((c) => c.notifications.includes(notification))),
          );
        } catch (error) {
          problems.push(error instanceof Error ? error.message : String(error));
        }
        expect((await list()).includes(item) === present, `${trigger}: ${item} ${present ? 'missing' : 'still there'}`);
      }
    }

    const read = await everything.client.readResource({ uri: 'test://static-text' });
    expect(read.contents.length === 1, `test://static-text read ${read.contents.length} contents`);
    const missing = 'test://nonexistent-resource-for-conformance-testing';
    const notFound = await everything.client.readResource({ uri: missing }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(
      notFound instanceof McpError &&
        notFound.code === RESOURCE_NOT_FOUND &&
        (notFound.data as { uri?: string } | undefined)?.uri === missing,
      `reading ${missing} gave ${notFound instanceof McpError ? `${notFound.code} ${JSON.stringify(notFound.data)}` : String(notFound)}, expected ${RESOURCE_NOT_FOUND} with data.uri`,
    );
    const templated = await everything.client.listResourceTemplates();
    expect(templated.resourceTemplates.length > 0, 'no resource templates');
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    for (const c of clients) await c.close();
  }
  return problems.length === 0 ? { passed: true } : { passed: false, reason: problems.join('; ') };
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

// ---------------------------------------------------------------------------------------------

async function cli(args: string[]): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const at = args.indexOf('--output-dir');
  const outputDir = at >= 0 ? args[at + 1] : undefined;
  const named = args.filter((arg, i) => !arg.startsWith('--') && !(at >= 0 && i === at + 1));
  const unknown = named.filter((s) => !SERVER_SCENARIOS_2026.includes(s));
  if (unknown.length > 0 || (at >= 0 && !outputDir)) {
    log(`usage: tsx conformance/era-bridge-server.ts [--output-dir <dir>] [scenario ...]`);
    if (unknown.length > 0)
      log(`not a scenario here: ${unknown.join(', ')}; these are: ${SERVER_SCENARIOS_2026.join(', ')}`);
    return 2;
  }
  const result = await runServers2026(node22(log), log, named.length > 0 ? named : SERVER_SCENARIOS_2026, outputDir);
  printServers2026(result, (line) => process.stdout.write(`${line}\n`), true);
  const problems = servers2026Problems(result);
  for (const problem of problems) log(`PROBLEM ${problem}`);
  return problems.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`era-bridge-server: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(2);
    },
  );
}
