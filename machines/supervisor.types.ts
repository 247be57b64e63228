import type { SessionInput, SessionLifecycle } from './session.types.js';

export interface SupervisorLimits {
  /** Sessions alive at once. Default 1000. */
  maxSessions: number;
}

export type SupervisorCommand =
  /** `sessionId` is minted by the runtime (crypto-random); the machine checks its form. */
  | { type: 'supervisor.create'; key: string; input: SessionInput }
  | { type: 'supervisor.stop'; key: string; sessionId: string }
  /** Refuse new sessions, shut every session down, finish when none is left. */
  | { type: 'supervisor.drain' };

export type SupervisorRefusal = 'too-many-sessions' | 'draining' | 'invalid-session-id' | 'unknown-session';

export type LifecycleEventName = SessionLifecycle['event'] | 'created' | 'failed';

export type SupervisorEmitted =
  | {
      type: 'supervisor.lifecycle';
      sessionId: string;
      event: LifecycleEventName;
      reason?: string | undefined;
    }
  | { type: 'supervisor.refused'; key: string; code: SupervisorRefusal; message: string }
  | { type: 'supervisor.drained' };
