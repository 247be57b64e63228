/** What the page knows, shared by the parts that draw it (main.ts owns and updates it). */
import type { MachineDefinitions, SessionData } from './data.js';
import type { DiagramOptions } from './render.js';

export interface PageState {
  /** `GET /machines`, once loaded. */
  machines: MachineDefinitions | undefined;
  sessions: SessionData[];
  /** When `sessions` arrived: durations shown advance from there until the next update. */
  receivedAt: number;
  /** The chosen session's id (kept in the address as `#session=<id>`). */
  selected: string | undefined;
  options: DiagramOptions;
}
