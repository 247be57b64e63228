/**
 * The `requestState` the proxy gives a 2026-07-28 client with `input_required`: "attacker-
 * controlled input" (2026-07-28 basic/patterns/mrtr), so authenticated (HMAC-SHA256 with a
 * key of the proxy's), bound to the credential, the method and the round it answers, with a
 * deadline. Signed, not encrypted: it holds ids, nothing of the user's.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface CallState {
  /** The pooled upstream session and the call's id on it. */
  pool: string;
  call: string | number;
  /** The round of input this state answers: an older one is a replay. */
  round: number;
  method: string;
  /** The credential's id (or '' for none): a state is good for the client it was given to only. */
  credential: string;
  /** Unix ms after which the state is refused. */
  expires: number;
}

export type Verified = { ok: true; state: CallState } | { ok: false; reason: 'tampered' | 'expired' | 'mismatch' };

export function createStateCodec(key: Buffer = randomBytes(32), now: () => number = Date.now) {
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  return {
    mint(state: CallState): string {
      const payload = Buffer.from(JSON.stringify(state)).toString('base64url');
      return `${payload}.${sign(payload)}`;
    },
    verify(token: unknown, expect: { method: string; credential: string }): Verified {
      if (typeof token !== 'string') return { ok: false, reason: 'tampered' };
      const [payload, mac] = token.split('.');
      if (!payload || !mac) return { ok: false, reason: 'tampered' };
      const want = Buffer.from(sign(payload));
      const got = Buffer.from(mac);
      if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'tampered' };
      let state: CallState;
      try {
        state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as CallState;
      } catch {
        return { ok: false, reason: 'tampered' };
      }
      if (state.expires < now()) return { ok: false, reason: 'expired' };
      if (state.method !== expect.method || state.credential !== expect.credential)
        return { ok: false, reason: 'mismatch' };
      return { ok: true, state };
    },
  };
}

export type StateCodec = ReturnType<typeof createStateCodec>;
