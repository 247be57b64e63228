// A stdio MCP server that misbehaves on command, for the stdio tests. Tools:
//   echo {text}   answers
//   garbage       writes a non-JSON line and a JSON non-JSON-RPC line first, then answers
//   crash         exits with code 3 without answering
//   initializes   answers with how many initialize requests this process received
// With IGNORE_SIGTERM=1 it ignores SIGTERM (and keeps running after stdin closes); with
// FAIL_INITIALIZE=1 it answers initialize with a JSON-RPC error.
import { createInterface } from 'node:readline';

if (process.env.IGNORE_SIGTERM === '1') {
  process.on('SIGTERM', () => {});
  setInterval(() => {}, 1000);
}
const write = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
process.stderr.write(`misbehaving server ${process.pid} up\n`);

let initializes = 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  if (message.method === 'initialize') initializes++;
  if (message.method === 'initialize' && process.env.FAIL_INITIALIZE === '1') {
    write({ jsonrpc: '2.0', id: message.id, error: { code: -32602, message: 'this server refuses to initialize' } });
    return;
  }
  if (message.method === 'initialize') {
    write({
      jsonrpc: '2.0',
      id: message.id,
      result: {
        protocolVersion: message.params.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'misbehaving', version: '1' },
      },
    });
    return;
  }
  if (message.method !== 'tools/call') {
    write({ jsonrpc: '2.0', id: message.id, result: {} });
    return;
  }
  const { name, arguments: args } = message.params;
  if (name === 'crash') process.exit(3);
  if (name === 'initializes') {
    write({
      jsonrpc: '2.0',
      id: message.id,
      result: { content: [{ type: 'text', text: `initializes:${initializes}` }] },
    });
    return;
  }
  if (name === 'garbage') {
    process.stdout.write('this is not json\n');
    process.stdout.write('{"hello":"json but not json-rpc"}\n');
  }
  write({
    jsonrpc: '2.0',
    id: message.id,
    result: { content: [{ type: 'text', text: `${name}:${args?.text ?? ''}:${process.pid}` }] },
  });
});
