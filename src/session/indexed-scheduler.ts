/**
 * xstate (5.x) finds a stopping actor's delayed events by scanning every delayed event of
 * the whole actor system. Every session keeps its idle and lifetime timers and every stream
 * its connect, heartbeat and health timers in the supervisor's one system, so each stream
 * that ends (one per request) scanned them all: with 500 sessions open this was the
 * largest cost of opening and closing a session (docs/benchmarks.md, `sessions`).
 *
 * This indexes the delayed events by the actor that scheduled them, so stopping an actor
 * cancels its own. It wraps the system's scheduler through its typed interface
 * (`system.scheduler`, `system.getSnapshot()._scheduledEvents`) and changes nothing else:
 * what fires, when, and what is cancelled stay xstate's.
 */
import type { ActorSystem, ActorSystemInfo, AnyActorRef } from 'xstate';

type AnyActorSystem = ActorSystem<ActorSystemInfo>;

/** Past this many ids, an actor's entry is pruned of events that have fired. */
const PRUNE_AT = 64;

export function indexScheduler(system: AnyActorSystem): void {
  const { scheduler } = system;
  const schedule = scheduler.schedule.bind(scheduler);
  const cancel = scheduler.cancel.bind(scheduler);
  /** Ids of each actor's scheduled events; ids of events that have fired linger until pruned. */
  const byActor = new WeakMap<AnyActorRef, Set<string>>();

  const prune = (source: AnyActorRef, ids: Set<string>) => {
    const pending = system.getSnapshot()._scheduledEvents;
    for (const id of ids) if (!(`${source.sessionId}.${id}` in pending)) ids.delete(id);
  };

  scheduler.schedule = (source, target, event, delay, id) => {
    // xstate makes the same random id when none is given; here it must be known to be indexed.
    const eventId = id ?? Math.random().toString(36).slice(2);
    schedule(source, target, event, delay, eventId);
    let ids = byActor.get(source);
    if (ids === undefined) {
      ids = new Set();
      byActor.set(source, ids);
    }
    ids.add(eventId);
    if (ids.size > PRUNE_AT) prune(source, ids);
  };
  scheduler.cancel = (source, id) => {
    cancel(source, id);
    byActor.get(source)?.delete(id);
  };
  scheduler.cancelAll = (source) => {
    const ids = byActor.get(source);
    if (ids === undefined) return;
    byActor.delete(source);
    for (const id of ids) cancel(source, id);
  };
}
