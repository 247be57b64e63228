/**
 * Before the proxy serves a client from its own event log (a resume), the client's current
 * credential must be one the upstream accepted for this session: a refreshed token the
 * session has not seen yet is shown to the upstream first, with a `ping` on the session.
 * The log never hands one user's events to another, whatever tokens the proxy can decode.
 */
import { randomUUID } from 'node:crypto';
import type { Forwarded } from '../../machines/session.types.js';
import { SessionGoneError, type ShepherdError, UpstreamUnavailableError } from '../errors.js';
import { errorForRefusal } from '../proxy/refusals.js';
import type { SessionHandle } from '../session/session-handle.js';

export type Verdict =
  | { ok: true }
  /** The upstream refused it: the client gets the upstream's own answer (a 401 with its challenge). */
  | {
      ok: false;
      answer: { status: number; contentType: string | null; body: string; wwwAuthenticate: string | undefined };
    }
  | { ok: false; error: ShepherdError };

export function verifyCredential(handle: SessionHandle, forward: Forwarded): Promise<Verdict> {
  const key = `mcp-shepherd-verify-${randomUUID()}`;
  return new Promise<Verdict>((resolve) => {
    const stops: Array<() => void> = [];
    const stopAll = () => {
      for (const stop of stops) stop();
    };
    stops.push(
      handle.onKey(key, {
        keyed: (event) => {
          if (event.type === 'session.refused') {
            stopAll();
            resolve({ ok: false, error: errorForRefusal(event.code, event.message) });
          }
          if (event.type !== 'session.stream.opened') return;
          const { stream } = event;
          stops.push(
            handle.onStream(stream, {
              stream: (e) => {
                // Accepted as soon as the upstream answers the ping with a stream or a body.
                if (e.type === 'session.stream.status' && e.state === 'open') resolve({ ok: true });
                if (e.type !== 'session.stream.ended') return;
                stopAll();
                if (e.answer) resolve({ ok: false, answer: e.answer });
                else if (e.state === 'closed') resolve({ ok: true });
                else {
                  const message = `The upstream did not answer a check of the credential (${e.state}).`;
                  resolve({ ok: false, error: new UpstreamUnavailableError(message) });
                }
                // Nobody reads the ping's stream: its events need no log.
                if (handle.alive) handle.send({ type: 'session.client.detach', key, stream, delivered: true });
              },
            }),
          );
        },
        ended: () => resolve({ ok: false, error: new SessionGoneError() }),
      }),
    );
    handle.send({
      type: 'session.request',
      key,
      body: JSON.stringify({ jsonrpc: '2.0', id: key, method: 'ping' }),
      requestIds: [key],
      forward,
    });
  });
}
