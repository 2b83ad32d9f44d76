// Small pieces every view shares: visible error messages, a progress row with a Cancel button
// for long operations, select boxes filled from lists, and the served models.

import {ApiError, Cancelled, get} from './api.js';

export const $ = (id) => document.getElementById(id);

/** Shows `message` in the alert element `el` (role="alert"); an empty message hides it. */
export function showAlert(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}

/** The message to show for an error of any kind. */
export function messageOf(error) {
  if (error instanceof ApiError) return error.message;
  if (error && error.message) return error.message;
  return String(error);
}

/**
 * Runs `operation(signal, progress)` with a progress bar and a Cancel button in `container`,
 * the `button` disabled meanwhile; errors (not cancellation) go to `alertEl`. `progress(job)`
 * takes a job's {step, total, status}. Returns the result, or null when it failed or was
 * cancelled.
 */
export async function withProgress({container, button, alertEl, label}, operation) {
  const controller = new AbortController();
  container.replaceChildren();
  const bar = document.createElement('progress');
  bar.max = 1;
  bar.removeAttribute('value');  // indeterminate until the first step
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'btn danger';
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => controller.abort());
  const text = document.createElement('span');
  text.className = 'task-text';
  text.setAttribute('aria-live', 'polite');
  text.textContent = label + '…';
  container.append(bar, cancel, text);
  container.hidden = false;
  if (button) button.disabled = true;
  if (alertEl) showAlert(alertEl, '');
  const started = performance.now();
  const progress = (job) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (job && job.total > 0) {
      bar.max = job.total;
      bar.value = job.step || 0;
      text.textContent = `${label}: step ${job.step || 0} of ${job.total} · ${seconds} s`;
    } else if (job && job.status === 'queued') {
      text.textContent = `${label}: waiting in the queue · ${seconds} s`;
    } else {
      text.textContent = `${label}… ${seconds} s`;
    }
  };
  try {
    return await operation(controller.signal, progress);
  } catch (error) {
    if (error instanceof Cancelled) {
      if (alertEl) showAlert(alertEl, `${label}: cancelled.`);
    } else if (alertEl) {
      showAlert(alertEl, `${label}: ${messageOf(error)}`);
    }
    return null;
  } finally {
    container.hidden = true;
    container.replaceChildren();
    if (button) button.disabled = false;
  }
}

/** Replaces the options of `select` with `items` ([value, text] pairs), keeping the choice. */
export function fillSelect(select, items, keep = true) {
  const previous = select.value;
  select.replaceChildren(...items.map(([value, text]) => {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = text;
    return option;
  }));
  if (keep && items.some(([value]) => value === previous)) select.value = previous;
}

/** The served models, from GET /v1/models; listeners are told when the list changes. */
export const models = {
  list: [],
  limits: {},
  listeners: [],
  byName(name) {
    return this.list.find((m) => m.name === name);
  },
  onChange(listener) {
    this.listeners.push(listener);
  },
  async refresh() {
    const data = await get('v1/models');
    this.list = data.models || [];
    this.limits = data.limits || {};
    for (const listener of this.listeners) listener(this.list);
    return this.list;
  },
};

/** A short description of a model for select boxes. */
export function modelLabel(model) {
  const shape = (model.data_shape || []).join('×');
  return `${model.name} (${model.family || model.model}, ${shape})`;
}

/** Reads `input`'s number, clamped to [min, max]; `fallback` when it is not a number. */
export function numberOf(input, fallback) {
  const value = Number(input.value);
  if (input.value === '' || !Number.isFinite(value)) return fallback;
  let v = value;
  if (input.min !== '') v = Math.max(Number(input.min), v);
  if (input.max !== '') v = Math.min(Number(input.max), v);
  return v;
}
