import { BOTTLENECK_COLORS } from '../src/report/colors.js';

export { BOTTLENECK_COLORS };

/** DOM helpers. Every string becomes a text node: nothing an agent sends is parsed as HTML. */
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

export const fmt = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined ? '–' : v.toFixed(digits));

export function token(): string | null {
  return new URLSearchParams(location.search).get('token');
}

/** Adds the page's ?token= (if any) to an API URL. */
export function withToken(url: string): string {
  const t = token();
  return t ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}` : url;
}

/** The collector wants a token this page does not have (or has wrong): the page asks for one. */
export class AuthError extends Error {}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(withToken(url));
  if (res.status === 401) throw new AuthError(token() ? 'the collector refused this token' : 'this collector needs a token');
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as T;
}


export function badge(label: string): HTMLElement {
  const b = h('span', { class: 'badge' }, label);
  b.style.background = BOTTLENECK_COLORS[label] ?? '#57606a';
  return b;
}
