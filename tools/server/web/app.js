// flowinone's web page: the four views (playground, generate, image in / image out,
// likelihood), the tabs between them, the API key, and the server's state. Plain ES modules,
// nothing fetched from outside; every view builds its form from GET /v1/models.

import {ApiError, apiKey, get, setApiKey} from './api.js';
import {initGenerate} from './generate.js';
import {initLikelihood} from './likelihood.js';
import {initPlayground} from './playground.js';
import {initStudio} from './studio.js';
import {$, messageOf, models, showAlert} from './ui.js';

const kViews = ['playground', 'generate', 'studio', 'likelihood'];
const kHealthMs = 4000;

function showView(name, focus = false) {
  for (const view of kViews) {
    const on = view === name;
    const tab = $(`tab-${view}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`view-${view}`).hidden = !on;
    if (on && focus) tab.focus();
  }
  if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
}

function initTabs() {
  for (const [i, view] of kViews.entries()) {
    const tab = $(`tab-${view}`);
    tab.addEventListener('click', () => showView(view));
    tab.addEventListener('keydown', (event) => {
      const step = {ArrowRight: 1, ArrowLeft: -1}[event.key];
      if (event.key === 'Home') showView(kViews[0], true);
      else if (event.key === 'End') showView(kViews[kViews.length - 1], true);
      else if (step) showView(kViews[(i + step + kViews.length) % kViews.length], true);
      else return;
      event.preventDefault();
    });
  }
  const fromHash = location.hash.slice(1);
  showView(kViews.includes(fromHash) ? fromHash : 'playground');
  window.addEventListener('hashchange', () => {
    const name = location.hash.slice(1);
    if (kViews.includes(name)) showView(name);
  });
}

let online = null;

function setStatus(ok, text) {
  const pill = $('server-status');
  pill.textContent = text;
  pill.className = 'pill ' + (ok ? 'ok' : 'down');
}

function showModelNames(list) {
  const names = list.map((m) => m.name).join(', ');
  $('foot-models').textContent = `${list.length} model${list.length === 1 ? '' : 's'}: ${names}`;
}
models.onChange(showModelNames);

function loadModels() {
  return models.refresh();
}

// Polls /health; when the server comes back, reloads the models.
async function checkHealth() {
  const global = $('global-alert');
  try {
    const health = await get('health');
    if (online !== true) {
      await loadModels();
      showAlert(global, '');
    }
    online = true;
    setStatus(true, `connected · ${health.models} model${health.models === 1 ? '' : 's'}`);
  } catch (error) {
    online = false;
    if (error instanceof ApiError && error.status === 401) {
      setStatus(false, 'API key needed');
      showAlert(global, `${messageOf(error)}. Enter it under "API key" at the top right.`);
    } else if (error instanceof ApiError && error.status === 503) {
      setStatus(false, 'loading models…');
    } else {
      setStatus(false, 'server unreachable');
      showAlert(global, messageOf(error));
    }
  }
}

function initKey() {
  const input = $('api-key');
  input.value = apiKey();
  input.addEventListener('change', () => {
    setApiKey(input.value.trim());
    online = null;
    checkHealth();
  });
}

initTabs();
initKey();
initPlayground();
initGenerate();
initStudio();
initLikelihood();
checkHealth();
setInterval(checkHealth, kHealthMs);
