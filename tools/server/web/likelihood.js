// Likelihood: a dropped or drawn picture scored by POST /v1/likelihood (as a job). The picture
// is sent `repeats` times, so that the spread of the dequantization noise and of the Hutchinson
// probes gives the value its error bar; the value is drawn on the histogram of the model's
// held-out pictures (GET /v1/models/{name}/reference), where an out-of-distribution picture
// stands out. A dropped PNG is sent byte for byte: the page does not resize what it scores.

import {get, post, runJob} from './api.js';
import {drawHistogram} from './plot.js';
import {base64ToBytes, bytesToBase64, canvasPixels, encodePng, isPng, loadImage} from './png.js';
import {Sketch} from './sketch.js';
import {$, fillSelect, messageOf, modelLabel, models, numberOf, showAlert, withProgress} from './ui.js';

let sketch = null;
let dropped = null;          // {bytes, name}: a picture to send as it is, until drawn over
const references = new Map(); // model -> {values, source} or {error}

function selected() {
  return models.byName($('lk-model').value);
}

function shape() {
  const model = selected();
  const s = model && model.data_shape && model.data_shape.length === 3 ? model.data_shape : [1, 32, 32];
  return {channels: s[0] === 3 ? 3 : 1, height: s[1], width: s[2]};
}

function pictureBase64() {
  if (dropped) return bytesToBase64(dropped.bytes);
  const {channels, height, width} = shape();
  return bytesToBase64(encodePng(width, height, channels, canvasPixels(sketch.canvas, width, height, channels)));
}

async function showPicture(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], {type: 'image/png'}));
  try {
    const image = await loadImage(url);
    sketch.load(image, true, shape().channels === 1);
    dropped = {bytes, name};  // after load(): drawing on it switches back to the canvas
    $('lk-drop-hint').textContent = `${name} (${image.naturalWidth}×${image.naturalHeight}), sent as it is; draw on it to change it.`;
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function takeFile(file) {
  const alertEl = $('lk-alert');
  showAlert(alertEl, '');
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (isPng(bytes)) {
    try {
      await showPicture(bytes, file.name);
    } catch {
      showAlert(alertEl, `${file.name}: the PNG cannot be read`);
    }
    return;
  }
  // Another picture format: decoded by the browser, then written as a PNG of its own size.
  const url = URL.createObjectURL(file);
  try {
    const image = await loadImage(url);
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    canvas.getContext('2d').drawImage(image, 0, 0);
    const {channels} = shape();
    await showPicture(encodePng(canvas.width, canvas.height, channels,
        canvasPixels(canvas, canvas.width, canvas.height, channels)), file.name);
  } catch {
    showAlert(alertEl, `${file.name} is not a picture: drop a PNG of the model's size (${describeShape()})`);
  } finally {
    URL.revokeObjectURL(url);
  }
}

function describeShape() {
  const {channels, height, width} = shape();
  return `${width}×${height}, ${channels === 1 ? 'grayscale' : 'RGB'}`;
}

async function useSample() {
  const model = selected();
  if (!model) return;
  showAlert($('lk-alert'), '');
  try {
    const data = await post('v1/generate', {model: model.name, n: 1, seed: Math.floor(Math.random() * 1e6)});
    await showPicture(base64ToBytes(data.images[0]), `a sample of ${model.name}`);
  } catch (error) {
    showAlert($('lk-alert'), `Sample: ${messageOf(error)}`);
  }
}

async function reference(model) {
  if (!references.has(model.name)) {
    try {
      const data = await get(`v1/models/${encodeURIComponent(model.name)}/reference`);
      references.set(model.name, {values: data.bits_per_dim || [], source: data.source || ''});
    } catch (error) {
      references.set(model.name, {error: messageOf(error)});
    }
  }
  return references.get(model.name);
}

async function showReference(mark, error) {
  const model = selected();
  const canvas = $('lk-hist');
  const note = $('lk-reference');
  if (!model) return;
  const ref = await reference(model);
  if (ref.error || !ref.values.length) {
    canvas.hidden = true;
    note.textContent = `No test-set histogram for ${model.name}: ${ref.error || 'no values'}`;
    return null;
  }
  canvas.hidden = false;
  note.textContent = `${ref.values.length} held-out pictures${ref.source ? ' of ' + ref.source : ''}.`;
  return drawHistogram(canvas, ref.values, mark, error,
      Number.isFinite(mark) ? 'test set, and this picture (red)' : 'test set');
}

async function score() {
  const model = selected();
  if (!model) return;
  const repeats = Math.round(numberOf($('lk-repeats'), 4));
  const image = pictureBase64();
  const body = {model: model.name, images: Array(repeats).fill(image),
    seed: Math.floor(Math.random() * 1e6)};
  if (model.integrates) body.estimator = $('lk-estimator').value;
  const result = await withProgress(
      {container: $('lk-task'), button: $('lk-run'), alertEl: $('lk-alert'), label: 'Scoring'},
      (signal, progress) => runJob('likelihood', body, {signal, onProgress: progress}));
  if (!result) return;
  const value = Number(result.bits_per_dim);
  const error = result.bits_per_dim_stderr === null || result.bits_per_dim_stderr === undefined ?
    0 : Number(result.bits_per_dim_stderr);
  $('lk-value').textContent = value.toFixed(3);
  $('lk-error').textContent = error > 0 ? `± ${error.toFixed(3)} (standard error over ${repeats} draws)` :
    '(one draw: no error bar)';
  const below = await showReference(value, error);
  const verdict = $('lk-verdict');
  if (below === null || below === undefined) {
    verdict.textContent = `${result.seconds ? Number(result.seconds).toFixed(1) + ' s. ' : ''}Lower is more likely.`;
  } else if (below >= 0.95) {
    verdict.textContent = `Higher than ${Math.round(below * 100)}% of the test set: this picture looks out of distribution.`;
  } else {
    verdict.textContent = `At the ${Math.round(below * 100)}th percentile of the test set: a typical picture for this model.`;
  }
}

function updateForm() {
  const model = selected();
  $('lk-run').disabled = !model;
  $('lk-sample').disabled = !model || model.translates;
  $('lk-estimator-field').hidden = !(model && model.integrates);
  if (!model) return;
  const {height, width} = shape();
  if (sketch.canvas.width !== width * sketch.scale) sketch.setSize(width, height);
  $('lk-value').textContent = '–';
  $('lk-error').textContent = '';
  $('lk-verdict').textContent = '';
  showReference(NaN, 0);
}

export function initLikelihood() {
  sketch = new Sketch($('lk-canvas'), {onChange: () => {
    if (dropped) {
      dropped = null;
      $('lk-drop-hint').textContent = 'Drawn in the page.';
    }
  }});
  sketch.tool = 'pen';
  const drop = $('lk-drop');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer.files && event.dataTransfer.files[0];
    if (file) takeFile(file);
  });
  drop.addEventListener('keydown', (event) => {
    if (event.target === drop && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      $('lk-upload').click();
    }
  });
  $('lk-upload').addEventListener('change', (event) => {
    const file = event.target.files && event.target.files[0];
    if (file) takeFile(file);
    event.target.value = '';
  });
  $('lk-clear').addEventListener('click', () => {
    dropped = null;
    sketch.clear();
    $('lk-drop-hint').textContent = 'Drop a PNG here, choose a file, or draw with the mouse.';
  });
  $('lk-sample').addEventListener('click', useSample);
  $('lk-run').addEventListener('click', score);
  models.onChange((list) => {
    const usable = list.filter((m) => m.likelihood && m.is_image);
    fillSelect($('lk-model'), usable.length ? usable.map((m) => [m.name, modelLabel(m)]) :
      [['', 'no picture model with a likelihood']]);
    updateForm();
  });
  $('lk-model').addEventListener('change', updateForm);
}
