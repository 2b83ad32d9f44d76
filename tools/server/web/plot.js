// Drawing the server's numbers on <canvas>: 2D densities (a histogram of the points, blurred and
// colour-mapped), particles, trajectories and a vector field in data coordinates, a training
// loss curve, and a histogram with one value marked.

// Viridis at nine stops; linear in between.
const kViridis = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];

/** Colour of `v` in [0, 1] as [r, g, b]. */
export function viridis(v) {
  const x = Math.min(1, Math.max(0, v)) * (kViridis.length - 1);
  const i = Math.min(kViridis.length - 2, Math.floor(x));
  const f = x - i;
  return kViridis[i].map((c, k) => Math.round(c + f * (kViridis[i + 1][k] - c)));
}

export const kPlotBackground = '#10132a';

/** A square view of data space, [-extent, extent]^2, on a canvas. */
export class View2d {
  constructor(canvas, extent) {
    this.canvas = canvas;
    this.extent = extent;
  }
  px(x) { return (x + this.extent) / (2 * this.extent) * this.canvas.width; }
  py(y) { return (this.extent - y) / (2 * this.extent) * this.canvas.height; }
}

/** Clears to the plot background with a faint grid at every unit. */
export function clearPlot(view) {
  const ctx = view.canvas.getContext('2d');
  ctx.fillStyle = kPlotBackground;
  ctx.fillRect(0, 0, view.canvas.width, view.canvas.height);
  ctx.strokeStyle = 'rgba(255,255,255,0.05)';
  ctx.lineWidth = 1;
  for (let v = Math.ceil(-view.extent); v <= view.extent; v++) {
    ctx.beginPath();
    ctx.moveTo(view.px(v), 0);
    ctx.lineTo(view.px(v), view.canvas.height);
    ctx.moveTo(0, view.py(v));
    ctx.lineTo(view.canvas.width, view.py(v));
    ctx.stroke();
  }
}

/** The density of `points` ([[x, y], ...]): a bins x bins histogram, blurred, colour-mapped. */
export function drawDensity(view, points, bins = 64) {
  const counts = new Float32Array(bins * bins);
  const scale = bins / (2 * view.extent);
  for (const [x, y] of points) {
    const i = Math.floor((x + view.extent) * scale);
    const j = Math.floor((view.extent - y) * scale);
    if (i >= 0 && i < bins && j >= 0 && j < bins) counts[j * bins + i] += 1;
  }
  const smooth = blur(counts, bins);
  let max = 0;
  for (const c of smooth) max = Math.max(max, c);
  const image = new ImageData(bins, bins);
  for (let k = 0; k < smooth.length; k++) {
    // A square root keeps thin tails visible next to dense modes.
    const v = max > 0 ? Math.sqrt(smooth[k] / max) : 0;
    const [r, g, b] = densityColor(v);
    image.data.set([r, g, b, 255], 4 * k);
  }
  const tile = document.createElement('canvas');
  tile.width = bins;
  tile.height = bins;
  tile.getContext('2d').putImageData(image, 0, 0);
  const ctx = view.canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(tile, 0, 0, view.canvas.width, view.canvas.height);
}

// The plot's background at 0, fading into viridis, so that the edges of the support are smooth.
function densityColor(v) {
  const kFade = 0.12;
  if (v >= kFade) return viridis((v - kFade) / (1 - kFade));
  const [r, g, b] = viridis(0), f = v / kFade;
  return [16 + f * (r - 16), 19 + f * (g - 19), 42 + f * (b - 42)];
}

// A 3x3 binomial blur with clamped edges.
function blur(counts, bins) {
  const kernel = [1, 2, 1];
  const pass = (input, dx, dy) => {
    const out = new Float32Array(input.length);
    for (let j = 0; j < bins; j++) {
      for (let i = 0; i < bins; i++) {
        let sum = 0;
        for (let k = -1; k <= 1; k++) {
          const ii = Math.min(bins - 1, Math.max(0, i + k * dx));
          const jj = Math.min(bins - 1, Math.max(0, j + k * dy));
          sum += kernel[k + 1] * input[jj * bins + ii];
        }
        out[j * bins + i] = sum / 4;
      }
    }
    return out;
  };
  return pass(pass(counts, 1, 0), 0, 1);
}

/** A hue per particle from where it started, so that a mixing flow shows as mixed colours. */
export function particleColors(start) {
  return start.map(([x, y]) => {
    const hue = (Math.atan2(y, x) / (2 * Math.PI) + 1) % 1;
    return `hsl(${Math.round(hue * 360)}, 85%, 62%)`;
  });
}

/** Dots in their colours; `outlined` adds a dark rim, to stand out on a density. */
export function drawParticles(view, points, colors, radius = 1.8, outlined = false) {
  const ctx = view.canvas.getContext('2d');
  ctx.strokeStyle = 'rgba(0,0,0,0.7)';
  ctx.lineWidth = 1;
  for (let i = 0; i < points.length; i++) {
    ctx.fillStyle = colors[i];
    ctx.beginPath();
    ctx.arc(view.px(points[i][0]), view.py(points[i][1]), radius, 0, 2 * Math.PI);
    if (outlined) ctx.stroke();
    ctx.fill();
  }
}

/** Paths through `states` (K lists of points) for the particles `indices`, up to state `upTo`. */
export function drawTrajectories(view, states, indices, colors, upTo) {
  const ctx = view.canvas.getContext('2d');
  ctx.lineWidth = 1.2;
  ctx.globalAlpha = 0.55;
  for (const i of indices) {
    ctx.strokeStyle = colors[i];
    ctx.beginPath();
    ctx.moveTo(view.px(states[0][i][0]), view.py(states[0][i][1]));
    for (let k = 1; k < states.length && k <= upTo + 1; k++) {
      const [x, y] = k <= upTo ? states[k][i] : upToPoint(states, i, upTo);
      ctx.lineTo(view.px(x), view.py(y));
    }
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
}

function upToPoint(states, i, upTo) {
  const k = Math.floor(upTo), f = upTo - k;
  const a = states[k][i], b = states[Math.min(states.length - 1, k + 1)][i];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])];
}

/** Arrows of `velocities` at `grid` points, the longest one cell long. */
export function drawField(view, grid, velocities, cell) {
  let max = 0;
  for (const [vx, vy] of velocities) max = Math.max(max, Math.hypot(vx, vy));
  if (!(max > 0)) return;
  const ctx = view.canvas.getContext('2d');
  const pixelsPerUnit = view.canvas.width / (2 * view.extent);
  const scale = (0.9 * cell * pixelsPerUnit) / max;
  ctx.lineCap = 'round';
  for (let k = 0; k < grid.length; k++) {
    const [vx, vy] = velocities[k];
    const x0 = view.px(grid[k][0]), y0 = view.py(grid[k][1]);
    const dx = vx * scale, dy = -vy * scale;
    const length = Math.hypot(dx, dy);
    if (length < 0.5) continue;
    const x1 = x0 + dx, y1 = y0 + dy;
    const head = Math.min(6, 0.4 * length), angle = Math.atan2(dy, dx);
    ctx.strokeStyle = 'rgba(0,0,0,0.55)';
    ctx.lineWidth = 3;
    arrowPath(ctx, x0, y0, x1, y1, head, angle);
    ctx.strokeStyle = 'rgba(255,255,255,0.9)';
    ctx.lineWidth = 1.3;
    arrowPath(ctx, x0, y0, x1, y1, head, angle);
  }
}

function arrowPath(ctx, x0, y0, x1, y1, head, angle) {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(angle - 0.45), y1 - head * Math.sin(angle - 0.45));
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(angle + 0.45), y1 - head * Math.sin(angle + 0.45));
  ctx.stroke();
}

/** Sizes a canvas's backing store to its CSS box (times the pixel ratio); returns the ctx. */
export function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

/** The loss curve [[step, loss], ...] on a log scale, with the last value written. */
export function drawLoss(canvas, loss, totalSteps, color) {
  const ctx = fitCanvas(canvas);
  const w = canvas.clientWidth, h = canvas.clientHeight;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#5d6478';
  if (!loss.length) {
    ctx.fillText('loss: appears while training', 8, h / 2 + 4);
    return;
  }
  const values = loss.map(([, v]) => Math.log10(Math.max(1e-8, v)));
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-6) { lo -= 0.5; hi += 0.5; }
  const left = 6, right = w - 6, top = 18, bottom = h - 8;
  const last = totalSteps || loss[loss.length - 1][0] || 1;
  const x = (step) => left + (right - left) * step / last;
  const y = (v) => bottom - (bottom - top) * (v - lo) / (hi - lo);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.6;
  ctx.beginPath();
  loss.forEach(([step], k) => (k ? ctx.lineTo(x(step), y(values[k])) : ctx.moveTo(x(step), y(values[k]))));
  ctx.stroke();
  const [step, value] = loss[loss.length - 1];
  ctx.fillStyle = '#39405a';
  ctx.fillText(`loss ${value.toPrecision(3)} at step ${step}`, left + 2, 12);
}

/**
 * A histogram of `values` with `mark` (and its error bar `markError`) drawn over it; returns the
 * fraction of values below the mark.
 */
export function drawHistogram(canvas, values, mark, markError, label) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '13px system-ui, sans-serif';
  const all = values.concat(Number.isFinite(mark) ? [mark - (markError || 0), mark + (markError || 0)] : []);
  let lo = Math.min(...all), hi = Math.max(...all);
  const pad = 0.05 * (hi - lo || 1);
  lo -= pad;
  hi += pad;
  const bins = 32;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / (hi - lo) * bins))] += 1;
  const maxCount = Math.max(1, ...counts);
  const left = 40, right = w - 28, top = 28, bottom = h - 34;
  const x = (v) => left + (right - left) * (v - lo) / (hi - lo);
  ctx.fillStyle = '#c7cbe0';
  counts.forEach((c, i) => {
    const x0 = left + (right - left) * i / bins, x1 = left + (right - left) * (i + 1) / bins;
    const y0 = bottom - (bottom - top) * c / maxCount;
    ctx.fillRect(x0 + 1, y0, x1 - x0 - 2, bottom - y0);
  });
  ctx.strokeStyle = '#8a90a8';
  ctx.beginPath();
  ctx.moveTo(left, bottom + 0.5);
  ctx.lineTo(right, bottom + 0.5);
  ctx.stroke();
  ctx.fillStyle = '#5d6478';
  ctx.textAlign = 'center';
  for (let k = 0; k <= 4; k++) {
    const v = lo + (hi - lo) * k / 4;
    ctx.fillText(v.toFixed(2), x(v), bottom + 18);
  }
  ctx.fillText('bits / dim', (left + right) / 2, h - 2);
  ctx.textAlign = 'left';
  ctx.fillText(label, left, 16);
  if (!Number.isFinite(mark)) return null;
  if (markError > 0) {
    ctx.fillStyle = 'rgba(220, 38, 38, 0.15)';
    ctx.fillRect(x(mark - markError), top - 6, x(mark + markError) - x(mark - markError), bottom - top + 6);
  }
  ctx.strokeStyle = '#dc2626';
  ctx.lineWidth = 2.5;
  ctx.beginPath();
  ctx.moveTo(x(mark), top - 8);
  ctx.lineTo(x(mark), bottom);
  ctx.stroke();
  ctx.lineWidth = 1;
  return values.filter((v) => v < mark).length / Math.max(1, values.length);
}
