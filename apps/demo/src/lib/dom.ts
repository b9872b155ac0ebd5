/** A tiny element builder: enough DOM help for a page of plain TypeScript, no framework. */

type Child = Node | string | number | null | undefined | false;
type Props = {
  class?: string;
  /** `data-*` attributes, without the prefix. */
  data?: Record<string, string | number | boolean>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
  [attribute: string]: unknown;
};

/** Creates `<tag>` with attributes, `data-*`, listeners and children (strings become text, never HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'data') {
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) element.dataset[name] = String(v);
    } else if (key === 'on') {
      for (const [event, listener] of Object.entries(value as Record<string, EventListener>)) element.addEventListener(event, listener);
    } else if (key === 'class') {
      element.className = String(value);
    } else if (key in element && typeof value !== 'string') {
      (element as unknown as Record<string, unknown>)[key] = value; // properties such as checked, disabled, value
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}
