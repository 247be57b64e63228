/**
 * Element helpers. Text from the server only ever goes in through `textContent`, never as
 * HTML, so a session id or a state name cannot inject markup.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Attribute values; `undefined` leaves the attribute out. */
export type Attributes = Record<string, string | number | undefined>;

function fill<E extends Element>(node: E, attributes: Attributes | undefined, text: string | undefined): E {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value !== undefined) node.setAttribute(name, String(value));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

export function html<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes?: Attributes,
  text?: string,
): HTMLElementTagNameMap[K] {
  return fill(document.createElement(tag), attributes, text);
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes?: Attributes,
  text?: string,
): SVGElementTagNameMap[K] {
  return fill(document.createElementNS(SVG_NS, tag), attributes, text);
}

/** An element the page's HTML (src/admin/page.ts) always has; missing means page and script disagree. */
export function pageElement<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the admin page has no <${type.name}> #${id}`);
  return found;
}
