// The JSON API, as the page calls it. Every answer that is not 2xx becomes an ApiError with
// the server's {error: {code, message}}; a 404 "no such endpoint" means this server does not
// have that part of the API, which views show as a notice instead of breaking.
//
// Passwords: the page itself needs the password, so the browser has asked for it (HTTP Basic)
// and sends it along. Where it has not (a page opened before the password was set), a 401
// shows a login form; the password then goes in an Authorization header, kept for this tab.

import {h} from './dom.js';

export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;
  }
}

const AUTH_KEY = 'herald.auth';
let loginShown = null;

function authHeader() {
  try {
    return sessionStorage.getItem(AUTH_KEY);
  } catch {
    return null;
  }
}

export function hasStoredPassword() {
  return authHeader() !== null;
}

// True when `error` says the server has no such endpoint (an older or newer server).
export function isMissingEndpoint(error) {
  return error instanceof ApiError && error.status === 404 &&
         /no such endpoint/.test(error.message);
}

export async function api(method, path, body, {signal} = {}) {
  const headers = {Accept: 'application/json'};
  const auth = authHeader();
  if (auth) headers.Authorization = auth;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, {method, headers, body: payload, signal, credentials: 'same-origin'});
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'the server did not answer (is herald running?)', path);
  }
  const text = await response.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const err = json && json.error ? json.error : {};
    const error = new ApiError(response.status, err.code || `http_${response.status}`,
                               err.message || `${response.status} ${response.statusText}`, path);
    if (response.status === 401) showLogin(error);
    throw error;
  }
  return json;
}

export const get = (path, options) => api('GET', path, undefined, options);
export const post = (path, body, options) => api('POST', path, body === undefined ? {} : body, options);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

// An error for a person: "403 forbidden: the read-only password cannot change anything".
export function describeError(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  if (error.status === 0) return error.message;
  return `${error.message} (${error.status} ${error.code})`;
}

// ---- toasts ------------------------------------------------------------------------------

export function toast(message, kind = 'info', ms = 5000) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', {class: ['toast', `toast-${kind}`]}, message);
  box.append(el);
  setTimeout(() => el.remove(), ms);
  while (box.children.length > 4) box.firstChild.remove();
}

// ---- login -------------------------------------------------------------------------------

function showLogin(error) {
  if (loginShown) return;
  const input = h('input', {type: 'password', id: 'login-password', autocomplete: 'current-password',
                            required: true});
  const form = h('form', {class: 'login-form'},
    h('h2', 'Password needed'),
    h('p', error.message),
    h('label', {for: 'login-password'}, 'Password'),
    input,
    h('div', {class: 'actions'},
      h('button', {type: 'submit', class: 'primary'}, 'Sign in'),
      h('button', {type: 'button', onclick: () => close()}, 'Cancel')));
  const dialog = h('dialog', {class: 'dialog', 'aria-label': 'Password needed'}, form);
  const close = () => {
    dialog.close();
    dialog.remove();
    loginShown = null;
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      // Any user name: the server reads the password.
      const utf8 = new TextEncoder().encode(`herald:${input.value}`);
      sessionStorage.setItem(AUTH_KEY, `Basic ${btoa(String.fromCharCode(...utf8))}`);
    } catch {
      toast('This browser keeps no session storage; the password cannot be kept', 'error');
    }
    close();
    window.dispatchEvent(new Event('herald:auth'));
  });
  document.body.append(dialog);
  loginShown = dialog;
  dialog.showModal();
  input.focus();
}
