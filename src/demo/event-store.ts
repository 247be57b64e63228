/**
 * An EventStore for the SDK's server transport. The SDK's example InMemoryEventStore reads
 * the stream id back by splitting the event id on '_', which breaks for the standalone
 * stream (its id, `_GET_stream`, starts with '_'), so GET streams never replay. This one
 * keeps the stream id beside each event.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export class OrderedEventStore implements EventStore {
  private readonly events: Array<{ eventId: string; streamId: string; message: JSONRPCMessage }> = [];
  private next = 1;

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const eventId = `ev${this.next++}`;
    this.events.push({ eventId, streamId, message });
    return eventId;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.find((e) => e.eventId === eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const index = this.events.findIndex((e) => e.eventId === lastEventId);
    if (index < 0) return '';
    const { streamId } = this.events[index] as { streamId: string };
    for (const event of this.events.slice(index + 1)) {
      if (event.streamId === streamId) await send(event.eventId, event.message);
    }
    return streamId;
  }
}
