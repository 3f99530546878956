/**
 * DOM building without HTML strings: text always goes in as text (textContent), so a run named
 * `<img src=x onerror=alert(1)>` shows as those characters. No innerHTML anywhere in the webview.
 */

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined>;

/** An element with attributes (set with setAttribute, booleans as presence) and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (/^on/i.test(k)) throw new Error(`h(): no inline handlers (${k})`);
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces the children of an element. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Sets an element's text (textContent). */
export function text(el: Element, value: string): void {
  if (el.textContent !== value) el.textContent = value;
}

/**
 * Runs `update` (which may rebuild part of `container`), then gives the focus back to the element with the same
 * `data-key` if the focus was inside the container before.
 */
export function keepFocus(container: Element, update: () => void): void {
  const active = document.activeElement as HTMLElement | null;
  const key = active && container.contains(active) ? active.dataset.key : undefined;
  update();
  if (
    key !== undefined &&
    !(
      document.activeElement &&
      container.contains(document.activeElement) &&
      (document.activeElement as HTMLElement).dataset.key === key
    )
  ) {
    const again = container.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
    again?.focus({ preventScroll: true });
  }
}
