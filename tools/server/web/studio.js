// Image in, image out: the prompt is drawn on a Sketch (or loaded from one of the eight task
// templates of POST /v1/prompt, or an uploaded picture), averaged down to the model's picture
// size and channels, written as a PNG in the page, and sent to POST /v1/translate as a job. The
// output comes back with the pictures along the flow, shown with a slider.

import {post, pngDataUrl, runJob} from './api.js';
import {bytesToBase64, canvasPixels, encodePng, loadImage} from './png.js';
import {Sketch} from './sketch.js';
import {$, fillSelect, messageOf, modelLabel, models, numberOf, showAlert, withProgress} from './ui.js';

const kTasks = [['class2image', 'class → image (a class name)'], ['text2image', 'text → image (a phrase)'],
  ['doodle', 'doodle'], ['text_in_image', 'text in image'], ['box_edit', 'box edit'],
  ['vismarker', 'visual marker'], ['force', 'force (an arrow)'], ['trajectory', 'trajectory (a trail)']];
const kIntermediates = 11;

let sketch = null;

function selected() {
  return models.byName($('st-model').value);
}

// [channels, height, width] of the chosen model, or a 1x32x32 default.
function shape() {
  const model = selected();
  const s = model && model.data_shape && model.data_shape.length === 3 ? model.data_shape : [1, 32, 32];
  return {channels: s[0], height: s[1], width: s[2]};
}

/** The prompt as the model takes it: {base64, dataUrl}. */
function promptPng() {
  const {channels, height, width} = shape();
  const bytes = encodePng(width, height, channels === 3 ? 3 : 1, canvasPixels(sketch.canvas, width, height, channels === 3 ? 3 : 1));
  const base64 = bytesToBase64(bytes);
  return {base64, dataUrl: pngDataUrl(base64)};
}

function updatePreview() {
  $('st-input-preview').src = promptPng().dataUrl;
}

function setTool(tool) {
  sketch.tool = tool;
  for (const button of document.querySelectorAll('#view-studio .tool')) {
    const on = button.dataset.tool === tool;
    button.setAttribute('aria-checked', String(on));
    button.tabIndex = on ? 0 : -1;
  }
}

function updateForm() {
  const model = selected();
  $('st-run').disabled = !model;
  $('st-guidance-field').hidden = !(model && model.guidance);
  if (!model) return;
  const defaults = model.defaults || {};
  if (defaults.guidance !== undefined) $('st-guidance').value = defaults.guidance;
  if (defaults.solver && defaults.solver !== 'dopri5') $('st-solver').value = defaults.solver;
  if (defaults.steps) $('st-steps').value = Math.min(defaults.steps, 50);
  const {height, width} = shape();
  if (sketch.canvas.width !== width * sketch.scale || sketch.canvas.height !== height * sketch.scale) {
    sketch.setSize(width, height);
  }
  $('st-guidance-value').textContent = Number($('st-guidance').value).toFixed(1);
  updatePreview();
}

async function loadTemplate() {
  const alertEl = $('st-alert');
  showAlert(alertEl, '');
  const {height} = shape();
  const size = height >= 32 && height <= 256 && height % 32 === 0 ? height : 32;
  const body = {task: $('st-task').value, seed: Math.round(numberOf($('st-task-seed'), 0)), size};
  const text = $('st-task-text').value.trim();
  if (text) body.text = text;
  try {
    const data = await post('v1/prompt', body);
    const image = await loadImage(pngDataUrl(data.image));
    sketch.load(image, /*pixelated=*/true, /*gray=*/shape().channels === 1);
    if (data.text) $('st-text').value = data.text;
  } catch (error) {
    showAlert(alertEl, `Template: ${messageOf(error)}`);
  }
}

async function upload(file) {
  const alertEl = $('st-alert');
  showAlert(alertEl, '');
  const url = URL.createObjectURL(file);
  try {
    const image = await loadImage(url);
    sketch.load(image, false, shape().channels === 1);
  } catch (error) {
    showAlert(alertEl, `${file.name}: ${messageOf(error)} (choose a PNG, JPEG or other picture)`);
  } finally {
    URL.revokeObjectURL(url);
  }
}

function showAlong(index) {
  const pictures = showAlong.pictures || [];
  if (!pictures.length) return;
  const k = Math.min(pictures.length - 1, Math.max(0, index));
  $('st-output').src = pngDataUrl(pictures[k]);
  $('st-along').value = String(k);
  const t = pictures.length > 1 ? k / (pictures.length - 1) : 1;
  $('st-along-value').textContent = t.toFixed(2);
  for (const [i, button] of [...$('st-strip').children].entries()) {
    button.setAttribute('aria-current', String(i === k));
  }
}

async function translate() {
  const model = selected();
  if (!model) return;
  const prompt = promptPng();
  $('st-input-preview').src = prompt.dataUrl;
  const body = {model: model.name, image: prompt.base64, solver: $('st-solver').value,
    steps: Math.round(numberOf($('st-steps'), 20)), seed: Math.round(numberOf($('st-seed'), 0)),
    intermediates: kIntermediates};
  if (model.guidance) body.guidance = Number($('st-guidance').value);
  const result = await withProgress(
      {container: $('st-task-progress'), button: $('st-run'), alertEl: $('st-alert'), label: 'Translating'},
      (signal, progress) => runJob('translate', body, {signal, onProgress: progress}));
  if (!result) return;
  const output = $('st-output');
  output.hidden = false;
  output.src = pngDataUrl(result.image);
  $('st-output-caption').textContent = `output · ${Number(result.seconds).toFixed(2)} s · ${result.nfe} function evaluations`;
  const download = $('st-download');
  download.href = pngDataUrl(result.image);
  download.download = `flowinone-${model.name}-seed${body.seed}.png`;
  download.hidden = false;
  const pictures = Array.isArray(result.intermediates) && result.intermediates.length > 1 ? result.intermediates : [];
  showAlong.pictures = pictures;
  $('st-steps-box').hidden = !pictures.length;
  const strip = $('st-strip');
  strip.replaceChildren(...pictures.map((base64, k) => {
    const button = document.createElement('button');
    button.type = 'button';
    const t = (k / (pictures.length - 1)).toFixed(2);
    button.setAttribute('aria-label', `t = ${t}`);
    const image = document.createElement('img');
    image.src = pngDataUrl(base64);
    image.alt = '';
    button.append(image);
    button.addEventListener('click', () => showAlong(k));
    return button;
  }));
  if (pictures.length) {
    $('st-along').max = String(pictures.length - 1);
    showAlong(pictures.length - 1);
  }
}

export function initStudio() {
  sketch = new Sketch($('st-canvas'), {onChange: updatePreview, textInput: $('st-text'),
    widthInput: $('st-width')});
  sketch.onToolKey = setTool;
  fillSelect($('st-task'), kTasks, false);
  for (const button of document.querySelectorAll('#view-studio .tool')) {
    button.addEventListener('click', () => setTool(button.dataset.tool));
    button.addEventListener('keydown', (event) => {
      // Arrow keys move within the tool group (a radio group).
      const buttons = [...document.querySelectorAll('#view-studio .tool')];
      const i = buttons.indexOf(button);
      const next = event.key === 'ArrowRight' || event.key === 'ArrowDown' ? i + 1 :
        event.key === 'ArrowLeft' || event.key === 'ArrowUp' ? i - 1 : null;
      if (next === null) return;
      event.preventDefault();
      const target = buttons[(next + buttons.length) % buttons.length];
      setTool(target.dataset.tool);
      target.focus();
    });
  }
  setTool('pen');
  $('st-width').addEventListener('input', () => {
    $('st-width-value').textContent = $('st-width').value;
  });
  $('st-add-text').addEventListener('click', () => sketch.addTextCentered());
  $('st-undo').addEventListener('click', () => sketch.undo());
  $('st-clear').addEventListener('click', () => sketch.clear());
  $('st-template').addEventListener('click', loadTemplate);
  $('st-upload').addEventListener('change', (event) => {
    const file = event.target.files && event.target.files[0];
    if (file) upload(file);
    event.target.value = '';
  });
  $('st-guidance').addEventListener('input', () => {
    $('st-guidance-value').textContent = Number($('st-guidance').value).toFixed(1);
  });
  $('st-along').addEventListener('input', (event) => showAlong(Number(event.target.value)));
  $('st-form').addEventListener('submit', (event) => {
    event.preventDefault();
    translate();
  });
  models.onChange((list) => {
    const usable = list.filter((m) => m.translates);
    fillSelect($('st-model'), usable.length ? usable.map((m) => [m.name, modelLabel(m)]) :
      [['', 'no model translates pictures']]);
    updateForm();
  });
  $('st-model').addEventListener('change', updateForm);
  updatePreview();
}
