// An SDK 1.x client in its own process: connects to the URL given, lets the SDK open its GET
// stream, prints `ready <session id>` and waits to be killed (a client that leaves without DELETE).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const url = process.argv[2];
const client = new Client({ name: 'vanishing-client', version: '1.0.0' });
const transport = new StreamableHTTPClientTransport(new URL(url));
await client.connect(transport);
await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
process.stdout.write(`ready ${transport.sessionId}\n`);
setInterval(() => {}, 60_000);
