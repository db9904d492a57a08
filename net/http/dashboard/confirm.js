// A modal confirmation (<dialog>: focus stays inside, Escape cancels). With `count`, the
// dialog first asks the server how many jobs the action would touch (a dry run) and shows
// that number before the action can be confirmed.

import {h, replace} from './dom.js';
import {describeError} from './api.js';

// Resolves true when confirmed.
//   title: the question; body: text or nodes
//   confirmLabel: the button, or (n) => text once the count is known
//   count: async () => number (the dry run), optional
//   danger: a red confirm button
export function confirmAction({title, body, confirmLabel = 'Confirm', count, danger = false}) {
  return new Promise((resolve) => {
    const status = h('p', {class: 'dialog-count', role: 'status', 'aria-live': 'polite'});
    const confirm = h('button', {type: 'submit', class: danger ? 'danger' : 'primary',
                                 'data-confirm': '1'},
                      typeof confirmLabel === 'function' ? confirmLabel(null) : confirmLabel);
    const cancel = h('button', {type: 'button', value: 'cancel'}, 'Cancel');
    const form = h('form', {method: 'dialog'},
      h('h2', {id: 'dialog-title'}, title),
      body ? h('div', {class: 'dialog-body'}, body) : null,
      status,
      h('div', {class: 'actions'}, cancel, confirm));
    const dialog = h('dialog', {class: 'dialog', 'aria-labelledby': 'dialog-title'}, form);
    let result = false;
    cancel.addEventListener('click', () => dialog.close());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      result = true;
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    if (count) {
      confirm.disabled = true;
      replace(status, 'Counting the jobs this would touch…');
      count().then((n) => {
        if (!dialog.open) return;
        replace(status, h('strong', {'data-count': String(n)}, n === 1 ? '1 job matches.' : `${n.toLocaleString('en')} jobs match.`));
        if (typeof confirmLabel === 'function') confirm.textContent = confirmLabel(n);
        confirm.disabled = n === 0;
        if (n === 0) status.append(' Nothing to do.');
        confirm.focus();
      }, (error) => {
        if (!dialog.open) return;
        replace(status, h('span', {class: 'error-text'}, describeError(error)));
        cancel.focus();
      });
    } else {
      confirm.focus();
    }
  });
}
