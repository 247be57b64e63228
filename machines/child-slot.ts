/**
 * Names for children that come and go all the time, drawn from a bounded set.
 *
 * xstate memoizes, for each state node, the transitions that match each event type it has
 * seen, and never forgets one. A finished child sends `xstate.done.actor.<its id>`, so a
 * child id that is new every time (a session id, a stream number that only grows) adds an
 * entry that lives as long as the machine: a leak per session and per request. Children
 * named from a bounded set of slots keep that memo bounded.
 */

/** The child id of the `index`-th child: `<prefix>-<index mod slots>`. */
export const slotId = (prefix: string, index: number, slots: number) => `${prefix}-${index % slots}`;

/**
 * The first index from `from` on whose slot no live child holds. With well fewer live
 * children than slots, it ends after a probe or two.
 */
export function freeSlot(
  prefix: string,
  from: number,
  slots: number,
  isLive: (id: string) => boolean,
): { id: string; index: number } {
  for (let index = from; index < from + slots; index++) {
    const id = slotId(prefix, index, slots);
    if (!isLive(id)) return { id, index };
  }
  throw new Error(`childSlot: all ${slots} ${prefix} slots are taken`);
}
