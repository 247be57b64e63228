/**
 * An SDK 1.x `Client` that declares sampling and elicitation and answers both the way the
 * demo server's tools expect (`sampled(<first message>)`, accept with `{ ok: true }`), and
 * records the log notifications it receives.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

export function servingSdk1Client(name = 'sdk1-client') {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: 'assistant',
    model: 'test-model',
    content: {
      type: 'text',
      text: `sampled(${(request.params.messages[0]?.content as { text?: string } | undefined)?.text})`,
    },
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { ok: true } }));
  const notes: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    notes.push(String(n.params.data));
  });
  return { client, notes };
}
