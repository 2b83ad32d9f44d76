// The playground: two 2D runs side by side. Each trains a small flow on the server (a "train"
// job, its loss streamed), then samples it with the ODE's states along the way; the page draws
// the density, the particles at the slider's time (interpolated between the states), their
// trajectories, and the velocity field at that time (POST /v1/velocity on a grid).

import {ApiError, post, runJob} from './api.js';
import {View2d, clearPlot, drawDensity, drawField, drawLoss, drawParticles, drawTrajectories,
  particleColors} from './plot.js';
import {$, fillSelect, messageOf, models, numberOf, showAlert, withProgress} from './ui.js';

const kDatasets = [['gaussian', 'Gaussian'], ['checkerboard', 'checkerboard'],
  ['checkerboard-fine', 'checkerboard, fine'], ['8gaussians', '8 Gaussians'], ['moons', 'moons'],
  ['circles', 'circles'], ['spirals', 'spirals']];
const kCouplings = [['independent', 'independent'], ['ot-exact', 'OT, exact'],
  ['ot-sinkhorn', 'OT, Sinkhorn']];
const kPaths = [['straight', 'straight'], ['vp', 'VP (cos, sin)'], ['bridge', 'bridge']];
const kSamples = 3000;       // points drawn per run
const kStates = 41;          // states along the ODE (t = 0, 0.025, ..., 1)
const kShownParticles = 900;
const kShownPaths = 140;
const kFieldGrid = 17;       // arrows per side
const kPlayMs = 3500;        // t from 0 to 1

// [id suffix, label, control] of a run's form; control: a list of options or input attributes.
const kFields = [
  ['source', 'Source, t = 0', kDatasets],
  ['target', 'Target, t = 1', kDatasets],
  ['coupling', 'Coupling', kCouplings],
  ['path', 'Path', kPaths],
  ['sigma', 'Sigma', {type: 'number', min: 0, max: 2, step: 0.01}],
  ['steps', 'Steps', {type: 'number', min: 1, max: 5000, step: 100}],
];
const kAdvanced = [
  ['width', 'Width', {type: 'number', min: 16, max: 256, step: 16}],
  ['depth', 'Depth', {type: 'number', min: 1, max: 6, step: 1}],
  ['batch_size', 'Batch', {type: 'number', min: 16, max: 2048, step: 16}],
  ['lr', 'Learning rate', {type: 'number', min: 0.00001, max: 0.1, step: 0.0005}],
  ['seed', 'Seed', {type: 'number', min: 0, step: 1}],
];

const shared = {t: 1, layers: {density: true, particles: true, trajectories: false, field: false},
  extent: 4.5, runs: [], noVelocity: ''};

class Run {
  constructor(root, letter, color, defaults) {
    this.letter = letter;
    this.color = color;
    this.sample = null;      // {points, times, states, nfe, model}
    this.fields = new Map(); // t (2 decimals) -> velocities on the grid
    this.pendingField = null;
    this.loss = [];
    this.totalSteps = 0;
    this.build(root, defaults);
  }

  build(root, defaults) {
    const id = (name) => `run-${this.letter.toLowerCase()}-${name}`;
    root.innerHTML = `
      <div class="run-head">
        <span class="badge">${this.letter}</span>
        <h2>Run ${this.letter}</h2>
        <label class="model-field" for="${id('model')}">model
          <select id="${id('model')}"></select></label>
      </div>
      <div class="run-body">
        <div>
          <canvas id="${id('plot')}" class="plot" width="560" height="560"
                  aria-label="Run ${this.letter}: density, particles and field"></canvas>
          <p id="${id('caption')}" class="plot-caption" aria-live="polite"></p>
        </div>
        <form class="run-form" novalidate>
          <details class="settings" open><summary>Settings</summary>
            <div class="fields"></div>
            <details><summary>Network and optimizer</summary><div class="advanced"></div></details>
          </details>
          <button type="submit" class="btn primary wide" id="${id('train')}">Train ${this.letter}</button>
          <div class="task" hidden></div>
          <canvas class="loss" id="${id('loss')}" aria-label="Run ${this.letter}: training loss"></canvas>
        </form>
      </div>
      <div class="alert" role="alert" hidden></div>`;
    const addField = (parent, [name, label, control]) => {
      const field = document.createElement('div');
      field.className = 'field';
      const labelEl = document.createElement('label');
      labelEl.htmlFor = id(name);
      labelEl.textContent = label;
      let input;
      if (Array.isArray(control)) {
        input = document.createElement('select');
        fillSelect(input, control, false);
      } else {
        input = document.createElement('input');
        Object.assign(input, control);
      }
      input.id = id(name);
      input.name = name;
      input.value = defaults[name];
      field.append(labelEl, input);
      parent.append(field);
      return input;
    };
    this.inputs = {};
    const fieldsEl = root.querySelector('.fields');
    const advancedEl = root.querySelector('.advanced');
    for (const f of kFields) this.inputs[f[0]] = addField(fieldsEl, f);
    for (const f of kAdvanced) this.inputs[f[0]] = addField(advancedEl, f);
    root.querySelector('.badge').style.background = this.color;
    // On a phone the settings start folded, so that the two runs' plots stay close.
    const phone = window.matchMedia('(max-width: 560px)');
    const settings = root.querySelector('.settings');
    settings.open = !phone.matches;
    phone.addEventListener('change', () => {
      settings.open = !phone.matches;
    });
    this.modelSelect = $(id('model'));
    this.canvas = $(id('plot'));
    this.caption = $(id('caption'));
    this.lossCanvas = $(id('loss'));
    this.trainButton = $(id('train'));
    this.taskEl = root.querySelector('.task');
    this.alertEl = root.querySelector('.alert');
    this.view = new View2d(this.canvas, shared.extent);
    root.querySelector('form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.train();
    });
    this.modelSelect.addEventListener('change', () => this.load(this.modelSelect.value));
    drawLoss(this.lossCanvas, [], 0, this.color);
  }

  settings() {
    const body = {};
    for (const [name, input] of Object.entries(this.inputs)) {
      body[name] = input.tagName === 'SELECT' ? input.value : numberOf(input, Number(input.min) || 0);
    }
    for (const name of ['width', 'depth', 'steps', 'batch_size', 'seed']) body[name] = Math.round(body[name]);
    return body;
  }

  setModels(list) {
    const items = list.filter((m) => (m.data_shape || []).length === 1 && m.integrates)
        .map((m) => [m.name, m.name]);
    fillSelect(this.modelSelect, [['', items.length ? 'choose…' : 'none yet'], ...items]);
  }

  async train() {
    const body = this.settings();
    this.loss = [];
    this.totalSteps = body.steps;
    drawLoss(this.lossCanvas, this.loss, this.totalSteps, this.color);
    const result = await withProgress(
        {container: this.taskEl, button: this.trainButton, alertEl: this.alertEl,
          label: `Training ${this.letter}`},
        (signal, progress) => runJob('train', body, {
          signal,
          onProgress: (job) => {
            progress(job);
            if (Array.isArray(job.loss)) this.loss = job.loss;
            else if (Array.isArray(job.last_loss)) this.loss.push(job.last_loss);
            else if (job.last_loss && job.last_loss.step !== undefined) this.loss.push([job.last_loss.step, job.last_loss.loss]);
            this.lossCanvas.dataset.points = String(this.loss.length);
            drawLoss(this.lossCanvas, this.loss, this.totalSteps, this.color);
          },
        }));
    if (!result) return;
    try {
      await models.refresh();
    } catch (error) {
      showAlert(this.alertEl, messageOf(error));
    }
    this.modelSelect.value = result.model;
    this.caption.textContent = `trained ${result.model}: ${result.steps} steps in ` +
        `${Number(result.seconds).toFixed(1)} s, final loss ${Number(result.final_loss).toPrecision(3)}`;
    await this.load(result.model);
  }

  async load(name) {
    this.sample = null;
    this.fields.clear();
    if (!name) {
      redrawAll();
      return;
    }
    showAlert(this.alertEl, '');
    this.caption.textContent = `sampling ${name}…`;
    try {
      const seed = Math.round(numberOf(this.inputs.seed, 0));
      const data = await post('v1/generate', {model: name, n: kSamples, seed, solver: 'euler',
        steps: 100, trajectory: kStates});
      if (!data.trajectory) throw new Error('the server sent no trajectory for ' + name);
      const states = data.trajectory.states;
      this.sample = {model: name, points: data.points, times: data.trajectory.times, states,
        nfe: data.nfe, colors: particleColors(states[0])};
    } catch (error) {
      showAlert(this.alertEl, `Sampling ${name}: ${messageOf(error)}`);
      this.caption.textContent = '';
    }
    updateExtent();
    redrawAll();
  }

  /** The points at time t, interpolated between the recorded states. */
  pointsAt(t) {
    const {times, states} = this.sample;
    let k = 0;
    while (k < times.length - 2 && times[k + 1] < t) k++;
    const span = times[k + 1] - times[k];
    const f = span > 0 ? Math.min(1, Math.max(0, (t - times[k]) / span)) : 0;
    const a = states[k], b = states[k + 1];
    return {points: a.map((p, i) => [p[0] + f * (b[i][0] - p[0]), p[1] + f * (b[i][1] - p[1])]),
      upTo: k + f};
  }

  draw() {
    this.view.extent = shared.extent;
    clearPlot(this.view);
    const ctx = this.canvas.getContext('2d');
    if (!this.sample) {
      ctx.fillStyle = 'rgba(255,255,255,0.6)';
      ctx.font = '20px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText(`Train ${this.letter}, or choose a served model`, this.canvas.width / 2, this.canvas.height / 2);
      ctx.textAlign = 'left';
      this.canvas.dataset.drawn = '';
      return;
    }
    const t = shared.t;
    const {points, upTo} = this.pointsAt(t);
    const layers = shared.layers;
    if (layers.density) drawDensity(this.view, points);
    if (layers.trajectories) {
      const indices = [...Array(Math.min(kShownPaths, points.length)).keys()];
      drawTrajectories(this.view, this.sample.states, indices, this.sample.colors, upTo);
    }
    if (layers.particles) {
      const shown = points.slice(0, kShownParticles);
      drawParticles(this.view, shown, this.sample.colors, 2.2, layers.density);
    }
    if (layers.field) this.drawFieldAt(t);
    this.canvas.dataset.drawn = t.toFixed(2);
    this.caption.textContent = `t = ${t.toFixed(2)} · ${this.sample.model} · ` +
        `${this.sample.points.length} samples · ${this.sample.nfe} evaluations` +
        (layers.field && shared.noVelocity ? ` · ${shared.noVelocity}` : '');
  }

  grid() {
    const cell = 2 * shared.extent / kFieldGrid;
    const points = [];
    for (let j = 0; j < kFieldGrid; j++) {
      for (let i = 0; i < kFieldGrid; i++) {
        points.push([-shared.extent + (i + 0.5) * cell, shared.extent - (j + 0.5) * cell]);
      }
    }
    return {points, cell};
  }

  drawFieldAt(t) {
    const key = `${shared.extent}:${t.toFixed(2)}`;
    const {points, cell} = this.grid();
    const velocities = this.fields.get(key);
    if (velocities) {
      drawField(this.view, points, velocities, cell);
      return;
    }
    if (this.pendingField || shared.noVelocity) return;
    const model = this.sample.model;
    this.pendingField = post('v1/velocity', {model, t: Number(t.toFixed(2)), points})
        .then((data) => {
          this.fields.set(key, data.velocities);
        })
        .catch((error) => {
          if (error instanceof ApiError && error.status === 404 && error.code === 'not_found') {
            shared.noVelocity = 'no vector field: the server has no /v1/velocity';
          } else {
            showAlert(this.alertEl, `Vector field: ${messageOf(error)}`);
            shared.layers.field = false;
            $('pg-layer-field').checked = false;
          }
        })
        .finally(() => {
          this.pendingField = null;
          if (this.sample && this.sample.model === model) this.draw();
        });
  }
}

// One extent for both runs (so that they compare), from where their samples start and end.
function updateExtent() {
  const radii = [];
  for (const run of shared.runs) {
    if (!run.sample) continue;
    const {states} = run.sample;
    for (const state of [states[0], states[states.length - 1]]) {
      for (const [x, y] of state) radii.push(Math.max(Math.abs(x), Math.abs(y)));
    }
  }
  if (!radii.length) return;
  radii.sort((a, b) => a - b);
  const q = radii[Math.floor(0.995 * (radii.length - 1))];
  shared.extent = Math.max(3, Math.ceil(q * 1.08 * 2) / 2);
}

function redrawAll() {
  for (const run of shared.runs) run.draw();
}

let playing = null;
function setPlaying(on) {
  const button = $('pg-play');
  if (!on) {
    if (playing) cancelAnimationFrame(playing.frame);
    playing = null;
    button.textContent = '▶';
    button.setAttribute('aria-label', 'Play');
    return;
  }
  if (shared.t >= 1) setTime(0);
  button.textContent = '❚❚';
  button.setAttribute('aria-label', 'Pause');
  playing = {last: performance.now(), frame: 0};
  const step = (now) => {
    if (!playing) return;
    const t = Math.min(1, shared.t + (now - playing.last) / kPlayMs);
    playing.last = now;
    setTime(t);
    if (t >= 1) setPlaying(false);
    else playing.frame = requestAnimationFrame(step);
  };
  playing.frame = requestAnimationFrame(step);
}

function setTime(t) {
  shared.t = t;
  $('pg-time').value = String(t);
  $('pg-time-value').textContent = t.toFixed(2);
  window.addEventListener('resize', () => {
    for (const run of shared.runs) drawLoss(run.lossCanvas, run.loss, run.totalSteps, run.color);
  });
  redrawAll();
}

export function initPlayground() {
  const base = {source: 'gaussian', target: 'checkerboard', coupling: 'independent',
    path: 'straight', sigma: 0, steps: 1000, width: 64, depth: 3, batch_size: 256, lr: 0.002,
    seed: 1};
  shared.runs = [
    new Run($('run-a'), 'A', '#4338ca', base),
    new Run($('run-b'), 'B', '#db2777', {...base, coupling: 'ot-exact'}),
  ];
  $('pg-time').addEventListener('input', (event) => {
    setPlaying(false);
    setTime(Number(event.target.value));
  });
  $('pg-play').addEventListener('click', () => setPlaying(!playing));
  for (const layer of Object.keys(shared.layers)) {
    const box = $(`pg-layer-${layer}`);
    shared.layers[layer] = box.checked;
    box.addEventListener('change', () => {
      shared.layers[layer] = box.checked;
      redrawAll();
    });
  }
  $('pg-train-both').addEventListener('click', () => {
    for (const run of shared.runs) run.train();
  });
  models.onChange((list) => {
    for (const run of shared.runs) run.setModels(list);
  });
  window.addEventListener('resize', () => {
    for (const run of shared.runs) drawLoss(run.lossCanvas, run.loss, run.totalSteps, run.color);
  });
  redrawAll();
}
