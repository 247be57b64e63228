/**
 * An EventStore for the SDK's server transport with O(1) lookups, so that the upstream's
 * replay cost stays flat over a resume run of thousands of events (the demo server's store
 * scans its whole log on every resume).
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface Stored {
  streamId: string;
  index: number;
}

export class IndexedEventStore implements EventStore {
  private readonly byId = new Map<string, Stored>();
  private readonly streams = new Map<string, Array<{ eventId: string; message: JSONRPCMessage }>>();
  private next = 1;

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const eventId = `e${this.next++}`;
    let events = this.streams.get(streamId);
    if (!events) {
      events = [];
      this.streams.set(streamId, events);
    }
    this.byId.set(eventId, { streamId, index: events.length });
    events.push({ eventId, message });
    return eventId;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.byId.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const stored = this.byId.get(lastEventId);
    if (!stored) return '';
    const events = this.streams.get(stored.streamId) ?? [];
    for (const event of events.slice(stored.index + 1)) {
      // The priming event is stored as {}: it carries no message to replay.
      if ('jsonrpc' in event.message) await send(event.eventId, event.message);
    }
    return stored.streamId;
  }
}
