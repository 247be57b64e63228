/** The protected server's `whoami` tool: the subject of the request's token, as `user:<sub>`. */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

export async function whoami(client: Client): Promise<string> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return (result.content as { text: string }[])[0]?.text ?? '';
}

/** The same call as a bare JSON-RPC request, for raw HTTP. */
export const whoamiCall = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'whoami', arguments: {} },
});
