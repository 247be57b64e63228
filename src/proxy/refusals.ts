/** What a client gets when its session refuses a request, a listen or a resume. */
import type { RefusalCode } from '../../machines/session.types.js';
import {
  LimitReachedError,
  NoStandaloneStreamError,
  ProtocolViolationError,
  type ShepherdError,
  StreamConflictError,
  UnavailableError,
} from '../errors.js';

const REFUSAL_ERRORS: Record<RefusalCode, (message: string) => ShepherdError> = {
  'too-many-streams': (message) => new LimitReachedError('SHEPHERD_TOO_MANY_STREAMS', message, 429, 1),
  'too-many-resumes': (message) => new LimitReachedError('SHEPHERD_TOO_MANY_RESUMES', message, 429, 1),
  'not-initialized': (message) => new ProtocolViolationError('SHEPHERD_NOT_INITIALIZED', message),
  reinitializing: (message) => new UnavailableError('SHEPHERD_REINITIALIZING', message),
  'log-unavailable': (message) => new UnavailableError('SHEPHERD_EVENT_LOG_UNAVAILABLE', message),
  'stream-attached': (message) => new StreamConflictError(message),
  'no-standalone-stream': () => new NoStandaloneStreamError(),
  malformed: (message) => new ProtocolViolationError('SHEPHERD_BAD_LAST_EVENT_ID', `Bad Request: ${message}`),
  foreign: (message) => new ProtocolViolationError('SHEPHERD_BAD_LAST_EVENT_ID', `Bad Request: ${message}`),
  evicted: (message) => new ProtocolViolationError('SHEPHERD_BAD_LAST_EVENT_ID', `Bad Request: ${message}`),
  unknown: (message) => new ProtocolViolationError('SHEPHERD_BAD_LAST_EVENT_ID', `Bad Request: ${message}`),
};

export const errorForRefusal = (code: RefusalCode, message: string) => REFUSAL_ERRORS[code](message);
