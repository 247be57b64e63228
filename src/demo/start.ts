/**
 * `npm start`: the demo MCP server on a free loopback port, and mcp-shepherd in front of it
 * on 127.0.0.1:8080 (extra arguments go to mcp-shepherd, e.g. `npm start -- --port 9000`).
 */
import { main } from '../cli.js';
import { DemoServer } from './demo-server.js';

const demo = await DemoServer.start(0, '127.0.0.1');
const started = await main(['--upstream', demo.urlVia(), ...process.argv.slice(2)]);
if (started) {
  process.stderr.write(
    [
      '',
      `  demo MCP server:  ${demo.urlVia()} (tools echo, count, summarize, confirm; resource demo://readme; prompt greet)`,
      `  mcp-shepherd:     ${started.url}`,
      '',
      `  Try it: npx @modelcontextprotocol/inspector --transport http --server-url ${started.url}`,
      '  Stop with Ctrl-C (every session is ended upstream first).',
      '',
    ].join('\n'),
  );
}
