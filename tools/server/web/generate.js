// Generate: a served model's form built from GET /v1/models (classes by name, guidance or
// temperature where they apply, solver and steps, seed), run as a job with progress and cancel.
// Pictures come back as PNGs whose text chunk carries the parameters; each one is a link that
// downloads those bytes as they are. A 2D model's points are drawn as a density.

import {pngDataUrl, runJob} from './api.js';
import {View2d, clearPlot, drawDensity} from './plot.js';
import {$, fillSelect, modelLabel, models, numberOf, withProgress} from './ui.js';

const kAllClasses = '__all__';
const kNoClass = '';
let chosen = false;  // the model list was filled once

function selected() {
  return models.byName($('gen-model').value);
}

function updateForm() {
  const model = selected();
  const has = Boolean(model);
  $('gen-run').disabled = !has;
  if (!has) return;
  const classes = model.class_names && model.class_names.length ?
    model.class_names : [...Array(model.num_classes || 0).keys()].map(String);
  $('gen-class-field').hidden = !model.num_classes;
  fillSelect($('gen-class'), [[kNoClass, 'none (unconditional)'],
    [kAllClasses, 'one of each class'], ...classes.map((name, i) => [String(i), name])]);
  $('gen-guidance-field').hidden = !model.guidance;
  $('gen-temperature-field').hidden = !model.temperature;
  $('gen-solver-field').hidden = !model.integrates;
  $('gen-steps-field').hidden = !model.integrates;
  const defaults = model.defaults || {};
  if (defaults.guidance !== undefined) $('gen-guidance').value = defaults.guidance;
  if (defaults.temperature !== undefined) $('gen-temperature').value = defaults.temperature;
  if (defaults.solver) $('gen-solver').value = defaults.solver;
  if (defaults.steps) $('gen-steps').value = Math.min(defaults.steps, 100);
  const n = $('gen-n');
  n.max = model.max_n || 64;
  n.value = model.is_image ? Math.min(8, n.max) : Math.min(5000, n.max);
  syncOutputs();
}

function syncOutputs() {
  $('gen-guidance-value').textContent = Number($('gen-guidance').value).toFixed(1);
  $('gen-temperature-value').textContent = Number($('gen-temperature').value).toFixed(2);
}

function requestBody(model) {
  const body = {model: model.name, seed: Math.round(numberOf($('gen-seed'), 0)),
    n: Math.round(numberOf($('gen-n'), 1))};
  if (model.integrates) {
    body.solver = $('gen-solver').value;
    body.steps = Math.round(numberOf($('gen-steps'), 50));
  }
  if (model.guidance) body.guidance = Number($('gen-guidance').value);
  if (model.temperature) body.temperature = Number($('gen-temperature').value);
  const choice = $('gen-class').value;
  if (model.num_classes && choice === kAllClasses) {
    body.n = model.num_classes;
    body.class = [...Array(model.num_classes).keys()];
  } else if (model.num_classes && choice !== kNoClass) {
    body.class = model.class_names && model.class_names.length ?
      model.class_names[Number(choice)] : Number(choice);
  }
  return body;
}

function className(model, id) {
  if (id === undefined || id === null) return '';
  return model.class_names && model.class_names[id] !== undefined ? model.class_names[id] : String(id);
}

function showImages(model, body, result) {
  const grid = $('gen-grid');
  grid.replaceChildren();
  $('gen-points').hidden = true;
  result.images.forEach((base64, i) => {
    const link = document.createElement('a');
    link.href = pngDataUrl(base64);
    const label = Array.isArray(body.class) ? className(model, body.class[i]) :
      typeof body.class === 'string' ? body.class : className(model, body.class);
    link.download = `flowinone-${model.name}-seed${body.seed}-${i}${label ? '-' + label : ''}.png`;
    link.title = `Download picture ${i + 1} as PNG`;
    const image = document.createElement('img');
    image.src = link.href;
    image.alt = `Generated picture ${i + 1}${label ? ' (' + label + ')' : ''}`;
    link.append(image);
    if (label) {
      const tag = document.createElement('span');
      tag.className = 'label';
      tag.textContent = label;
      link.append(tag);
    }
    grid.append(link);
  });
}

function showPoints(result) {
  $('gen-grid').replaceChildren();
  const canvas = $('gen-points');
  canvas.hidden = false;
  let extent = 3;
  for (const [x, y] of result.points) extent = Math.max(extent, Math.abs(x) * 1.05, Math.abs(y) * 1.05);
  const view = new View2d(canvas, Math.min(12, Math.ceil(extent * 2) / 2));
  clearPlot(view);
  drawDensity(view, result.points, 96);
}

async function generate() {
  const model = selected();
  if (!model) return;
  const body = requestBody(model);
  const result = await withProgress(
      {container: $('gen-task'), button: $('gen-run'), alertEl: $('gen-alert'), label: 'Generating'},
      (signal, progress) => runJob('generate', body, {signal, onProgress: progress}));
  if (!result) return;
  const what = result.images ? `${result.images.length} picture${result.images.length === 1 ? '' : 's'}` :
    `${result.points.length} points`;
  $('gen-summary').textContent = `${what} from ${model.name} in ${Number(result.seconds).toFixed(2)} s · ` +
      `${result.nfe} function evaluations · seed ${body.seed}` +
      (result.images ? ' · click a picture to download its PNG' : '');
  if (result.images) showImages(model, body, result);
  else showPoints(result);
}

export function initGenerate() {
  models.onChange((list) => {
    const usable = list.filter((m) => !m.translates);
    fillSelect($('gen-model'), usable.length ? usable.map((m) => [m.name, modelLabel(m)]) :
      [['', 'no model to sample']]);
    // At first an image model, if there is one; later the user's choice stays.
    const firstImage = usable.find((m) => m.is_image);
    if (!chosen && firstImage) $('gen-model').value = firstImage.name;
    chosen = chosen || usable.length > 0;
    updateForm();
  });
  $('gen-model').addEventListener('change', updateForm);
  $('gen-guidance').addEventListener('input', syncOutputs);
  $('gen-temperature').addEventListener('input', syncOutputs);
  $('gen-seed-random').addEventListener('click', () => {
    $('gen-seed').value = Math.floor(Math.random() * 1e6);
  });
  $('gen-form').addEventListener('submit', (event) => {
    event.preventDefault();
    generate();
  });
  syncOutputs();
}
