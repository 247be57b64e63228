/**
 * `npm start`: the demo MCP server on a free loopback port, and mcp-shepherd in front of it
 * on 127.0.0.1:8080 with its admin listener (live page, metrics) on 127.0.0.1:9090 (extra
 * arguments go to mcp-shepherd, e.g. `npm start -- --port 9000 --admin 127.0.0.1:9100`).
 */
import { main } from '../cli.js';
import { DemoServer } from './demo-server.js';

const demo = await DemoServer.start(0, '127.0.0.1');
const extra = process.argv.slice(2);
const admin = extra.includes('--admin') ? [] : ['--admin'];
const started = await main(['--upstream', demo.urlVia(), ...admin, ...extra]);
if (started) {
  process.stderr.write(
    [
      '',
      `  demo MCP server:  ${demo.urlVia()} (tools echo, count, summarize, confirm; resource demo://readme; prompt greet)`,
      `  mcp-shepherd:     ${started.url}`,
      ...(started.adminUrl ? [`  admin, live page: ${started.adminUrl} (sessions, /metrics, statecharts)`] : []),
      '',
      `  Try it: npx @modelcontextprotocol/inspector --transport http --server-url ${started.url}`,
      '  Stop with Ctrl-C (every session is ended upstream first).',
      '',
    ].join('\n'),
  );
}
