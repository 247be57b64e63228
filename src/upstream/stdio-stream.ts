/**
 * A session stream over a stdio upstream. It stands where the HTTP connection actor stands
 * and speaks the same protocol to the session (`connection.status`, `connection.event`), but
 * its messages go to and come from the session's process (the `host` child) instead of HTTP.
 */
import { fromCallback } from 'xstate';
import type { ConnectionInput, ConnectionStatus, RequestId } from '../../machines/connection.types.js';
import type { HostEvent, HostToStream } from '../../machines/process.types.js';
import { hostSystemId } from '../../machines/session.machine.js';

/** Progress tokens the body's requests ask for, so their progress comes back to this stream. */
function progressTokens(body: string | undefined): (string | number)[] {
  if (body === undefined) return [];
  try {
    const value: unknown = JSON.parse(body);
    const list = Array.isArray(value) ? value : [value];
    return list.flatMap((m) => {
      const token = (m as { params?: { _meta?: { progressToken?: unknown } } })?.params?._meta?.progressToken;
      return typeof token === 'string' || typeof token === 'number' ? [token] : [];
    });
  } catch {
    return [];
  }
}

export function createStdioStreamLogic() {
  return fromCallback<HostToStream, ConnectionInput>(({ input, sendBack, receive, self, system }) => {
    let awaiting: RequestId[] = [...(input.awaitResponses ?? [])];
    let opens = 0;
    const report = (state: ConnectionStatus['state'], extra: Partial<ConnectionStatus> = {}) =>
      sendBack({ type: 'connection.status', id: input.id, state, attempt: 0, opens, bodyKind: 'sse', ...extra });

    const host = input.session ? system.get(hostSystemId(input.session)) : undefined;
    if (!host) {
      report('failed', { reason: 'upstream-exited', detail: 'the MCP server process is not running' });
      return;
    }
    const kind = input.method === 'GET' ? 'get' : 'post';
    host.send({
      type: 'host.open',
      streamId: input.id,
      kind,
      awaiting,
      progressTokens: progressTokens(input.body),
      ref: self,
      ...(input.body !== undefined ? { body: input.body } : {}),
    } satisfies HostEvent);
    opens = 1;
    if (kind === 'post' && awaiting.length === 0) {
      // Notifications and responses only: nothing will come back; the server has them.
      report('closed', { reason: 'accepted' });
      return;
    }
    // A standalone stream is open at once; a request's stream once the server answers, as an
    // HTTP response is open once its headers arrive (so whoever waits for it is listening).
    let opened = kind === 'get';
    if (opened) report('open', { reason: 'opened' });

    receive((event) => {
      if (event.type === 'host.failed') {
        report('failed', { reason: 'upstream-exited', detail: event.message });
        return;
      }
      const { message, line } = event;
      if (!opened) {
        opened = true;
        report('open', { reason: 'opened' });
      }
      sendBack({ type: 'connection.event', id: input.id, event: { data: line, message } });
      const isResponse = 'result' in message || 'error' in message;
      if (isResponse) awaiting = awaiting.filter((id) => id !== message.id);
      if (isResponse && kind === 'post' && awaiting.length === 0) report('closed', { reason: 'completed' });
    });
    return () => {
      // The process may have ended first (it gave up, or the session stopped it).
      if (host.getSnapshot().status === 'active')
        host.send({ type: 'host.close', streamId: input.id } satisfies HostEvent);
    };
  });
}
