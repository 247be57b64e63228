/**
 * A 2025 session's GET stream, served from a 2026-07-28 `subscriptions/listen` upstream:
 * "Notifications ... that are not associated with a specific request are delivered through
 * subscriptions/listen" (2026-07-28 basic/patterns/subscriptions).
 *
 * The filter is what the session follows (session-bridge.ts: the lists the server announces
 * changes of, the resources the client subscribed to). The first message MUST be the
 * acknowledgement; notifications lose their `subscriptionId`. A filter change opens a new
 * listen and drops the old one once the new one is acknowledged, so nothing falls between.
 * A listen does not resume: after a drop the connection machine opens the stream again
 * (with its backoff) and, since changes may have been missed meanwhile, the client is told
 * every list it follows changed and every subscribed resource was updated. With nothing to
 * follow, the stream is held here without an upstream request.
 */

import type { ReaderEvent } from '../../machines/connection.types.js';
import { isRecord } from '../../machines/jsonrpc.js';
import { type Reader, type ReaderParams, upstreamPost } from './modern-reader.js';
import { type Message, modernHeaders, withEnvelope, withoutSubscriptionId } from './modern-wire.js';
import type { SessionBridge, SubscriptionFilter } from './session-bridge.js';

interface Listen {
  id: string;
  acked: boolean;
  stop: () => void;
}

const ACK = 'notifications/subscriptions/acknowledged';

/** What the client may have missed while no listen was open. */
export function missedChanges(filter: SubscriptionFilter): Message[] {
  const note = (method: string, params?: Message): Message => ({
    jsonrpc: '2.0',
    method,
    ...(params ? { params } : {}),
  });
  return [
    ...(filter.toolsListChanged ? [note('notifications/tools/list_changed')] : []),
    ...(filter.promptsListChanged ? [note('notifications/prompts/list_changed')] : []),
    ...(filter.resourcesListChanged ? [note('notifications/resources/list_changed')] : []),
    ...(filter.resourceSubscriptions ?? []).map((uri) => note('notifications/resources/updated', { uri })),
  ];
}

const isEmpty = (filter: SubscriptionFilter) => Object.keys(filter).length === 0;

export function listenStream(
  bridge: SessionBridge,
  io: { http: Reader; params: ReaderParams; send: (event: ReaderEvent) => void; keepAliveMs: number },
): () => void {
  const { http, params, send } = io;
  if (params.input.headers['last-event-id'] !== undefined) {
    // "Resumable SSE streams via Last-Event-ID are not supported": nothing upstream to resume.
    send({
      type: 'stream.response',
      status: 405,
      contentType: 'text/plain',
      bodySnippet: 'a listen stream does not resume',
    });
    return () => {};
  }
  let current: Listen | undefined;
  let next: Listen | undefined;
  let answered = false;
  const answer = (event: Extract<ReaderEvent, { type: 'stream.response' }>) => {
    if (answered) return;
    answered = true;
    send(event);
  };
  const deliver = (message: Message) => send({ type: 'stream.event', data: JSON.stringify(message), message });

  const acknowledged = (listen: Listen, filter: SubscriptionFilter) => {
    if (listen === next) {
      current?.stop();
      current = next;
      next = undefined;
      return;
    }
    const relisten = bridge.listens > 0;
    bridge.listens += 1;
    if (relisten) for (const missed of missedChanges(filter)) deliver(missed);
  };

  const open = (filter: SubscriptionFilter): Listen => {
    const listen: Listen = { id: `${bridge.mintCallPrefix()}:listen`, acked: false, stop: () => {} };
    const body = withEnvelope(
      { jsonrpc: '2.0', id: listen.id, method: 'subscriptions/listen', params: { notifications: filter } },
      bridge,
    );
    const mine = () => listen === current || listen === next;
    listen.stop = upstreamPost(http, params, body, modernHeaders(params.input.headers, body, bridge), (event) => {
      if (!mine()) return;
      const replacing = listen === next;
      switch (event.type) {
        case 'stream.response':
          if (!replacing) return answer(event);
          // A replacement the upstream refused: the listen in place goes on.
          if (event.status < 200 || event.status > 299) next = undefined;
          return;
        case 'stream.event': {
          const message = event.message;
          if (!isRecord(message)) return;
          if (!listen.acked) {
            // "The first message carrying the subscription id MUST be the acknowledgement."
            if (message.method !== ACK) {
              if (replacing) next = undefined;
              else send({ type: 'stream.error', message: `the upstream listen began with ${String(message.method)}` });
              return;
            }
            listen.acked = true;
            return acknowledged(listen, filter);
          }
          // The listen's result: the upstream closed it gracefully; the connection opens it again.
          if (message.id === listen.id) return replacing ? undefined : send({ type: 'stream.end' });
          if (typeof message.method === 'string' && !('id' in message)) deliver(withoutSubscriptionId(message));
          return;
        }
        case 'stream.bytes':
        case 'stream.end':
        case 'stream.error':
          if (replacing) {
            if (event.type !== 'stream.bytes') next = undefined;
            return;
          }
          return send(event);
      }
    });
    return listen;
  };

  const follow = () => {
    const filter = bridge.filter();
    if (isEmpty(filter)) {
      current?.stop();
      next?.stop();
      current = next = undefined;
      answer({ type: 'stream.response', status: 200, contentType: 'text/event-stream' });
      return;
    }
    if (current === undefined) current = open(filter);
    else {
      next?.stop();
      next = open(filter);
    }
  };

  follow();
  const unwatch = bridge.watchFilter(follow);
  // Held here without an upstream listen: activity, so that the connection does not call it stalled.
  const keepAlive = setInterval(() => {
    if (current === undefined) send({ type: 'stream.bytes' });
  }, io.keepAliveMs);
  return () => {
    unwatch();
    clearInterval(keepAlive);
    current?.stop();
    next?.stop();
  };
}
