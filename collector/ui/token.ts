import { h } from './dom.js';

/**
 * The page a 401 shows: what happened and a field for the token, which goes into the address
 * (?token=) as the README says, so links and the live socket carry it.
 */
export function tokenPrompt(root: HTMLElement, reason: string): void {
  const input = h('input', { type: 'password', id: 'token-input', autocomplete: 'current-password', placeholder: 'token', size: '40' });
  const form = h('form', { id: 'token-form' }, h('label', {}, 'Token: ', input), ' ', h('button', { type: 'submit' }, 'Open'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams(location.search);
    q.set('token', input.value.trim());
    location.search = q.toString();
  });
  root.append(
    h('h1', {}, 'stagewatch'),
    h('p', { class: 'error', id: 'auth-error' }, `${reason[0]?.toUpperCase()}${reason.slice(1)} (HTTP 401).`),
    h('p', {}, 'Give the collector\'s token (what it was started with: --token, --tokens-file or STAGEWATCH_TOKEN).'),
    form,
  );
  input.focus();
}
