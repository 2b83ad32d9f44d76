// A drawing canvas for visual prompts, drawn as the server draws them (prompts/prompt_canvas.h):
// white ink on black. The canvas is the model's picture size times a whole `scale`, so that
// averaging scale x scale blocks (png.js canvasPixels) gives the model's pixels exactly; line
// widths and text sizes are given in the model's pixels.
//
// Tools: pen (doodles and trails), eraser, box, arrow, dot (a marker), text. Undo keeps the last
// 40 states. Keyboard: the canvas takes focus; P T B A D E pick a tool, Ctrl+Z undoes.

const kInk = '#ffffff';
const kBackground = '#000000';
const kUndoDepth = 40;

export class Sketch {
  constructor(canvas, {onChange, textInput, widthInput} = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', {willReadFrequently: true});
    this.onChange = onChange || (() => {});
    this.textInput = textInput;
    this.widthInput = widthInput;
    this.tool = 'pen';
    this.scale = 8;
    this.history = [];
    this.drag = null;
    this.setSize(32, 32);
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', () => this.cancelDrag());
    canvas.addEventListener('keydown', (e) => this.key(e));
  }

  /** The model's picture size; the canvas keeps its drawing, rescaled. */
  setSize(width, height) {
    this.scale = Math.max(1, Math.floor(256 / Math.max(width, height)));
    const old = this.canvas.width ? this.snapshotCanvas() : null;
    this.canvas.width = width * this.scale;
    this.canvas.height = height * this.scale;
    this.clear(false);
    if (old) this.drawImageFitted(old, true);
    this.history = [];
  }

  lineWidth() {
    return Math.max(0.5, Number(this.widthInput ? this.widthInput.value : 1.5)) * this.scale;
  }

  clear(record = true) {
    if (record) this.remember();
    this.ctx.fillStyle = kBackground;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (record) this.onChange();
  }

  remember() {
    this.history.push(this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height));
    if (this.history.length > kUndoDepth) this.history.shift();
  }

  undo() {
    const state = this.history.pop();
    if (!state) return;
    this.ctx.putImageData(state, 0, 0);
    this.onChange();
  }

  /** True when nothing but background is on the canvas. */
  isEmpty() {
    const data = this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height).data;
    for (let i = 0; i < data.length; i += 4) if (data[i] || data[i + 1] || data[i + 2]) return false;
    return true;
  }

  snapshotCanvas() {
    const copy = document.createElement('canvas');
    copy.width = this.canvas.width;
    copy.height = this.canvas.height;
    copy.getContext('2d').drawImage(this.canvas, 0, 0);
    return copy;
  }

  /**
   * Draws `image` over the whole canvas, letterboxed; `pixelated` keeps hard pixel edges (a
   * server prompt of the model's size). `gray` turns the canvas to gray levels afterwards.
   */
  drawImageFitted(image, pixelated, gray = false) {
    const w = image.naturalWidth || image.width, h = image.naturalHeight || image.height;
    const fit = Math.min(this.canvas.width / w, this.canvas.height / h);
    const dw = w * fit, dh = h * fit;
    this.ctx.fillStyle = kBackground;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.ctx.imageSmoothingEnabled = !pixelated;
    this.ctx.imageSmoothingQuality = 'high';
    this.ctx.drawImage(image, (this.canvas.width - dw) / 2, (this.canvas.height - dh) / 2, dw, dh);
    this.ctx.imageSmoothingEnabled = true;
    if (gray) {
      const all = this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
      const d = all.data;
      for (let i = 0; i < d.length; i += 4) {
        const v = Math.round(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
        d[i] = d[i + 1] = d[i + 2] = v;
      }
      this.ctx.putImageData(all, 0, 0);
    }
  }

  /** Replaces the drawing with `image` (undoable). */
  load(image, pixelated, gray) {
    this.remember();
    this.drawImageFitted(image, pixelated, gray);
    this.onChange();
  }

  /** `text` centred at (x, y) in canvas pixels, 7 model pixels tall. */
  drawText(text, x, y) {
    if (!text) return;
    const size = 7 * this.scale;
    this.ctx.fillStyle = kInk;
    this.ctx.font = `bold ${size}px "DejaVu Sans", system-ui, sans-serif`;
    this.ctx.textAlign = 'center';
    this.ctx.textBaseline = 'middle';
    const widest = this.canvas.width - this.scale;
    const measured = this.ctx.measureText(text).width;
    if (measured > widest) this.ctx.font = `bold ${Math.floor(size * widest / measured)}px "DejaVu Sans", system-ui, sans-serif`;
    this.ctx.fillText(text, x, y);
    this.ctx.textAlign = 'left';
    this.ctx.textBaseline = 'alphabetic';
  }

  addTextCentered() {
    this.remember();
    this.drawText(this.textInput ? this.textInput.value : '', this.canvas.width / 2, this.canvas.height / 2);
    this.onChange();
  }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.width * this.canvas.width,
      (event.clientY - rect.top) / rect.height * this.canvas.height];
  }

  down(event) {
    if (event.button !== undefined && event.button !== 0) return;
    event.preventDefault();
    this.canvas.focus();
    const [x, y] = this.point(event);
    this.remember();
    const ctx = this.ctx;
    if (this.tool === 'text') {
      this.drawText(this.textInput ? this.textInput.value : '', x, y);
      this.onChange();
      return;
    }
    if (this.tool === 'dot') {
      ctx.fillStyle = kInk;
      ctx.beginPath();
      ctx.arc(x, y, Math.max(1.5 * this.scale, this.lineWidth()), 0, 2 * Math.PI);
      ctx.fill();
      this.onChange();
      return;
    }
    this.canvas.setPointerCapture(event.pointerId);
    this.drag = {x0: x, y0: y, x, y, before: this.history[this.history.length - 1]};
    if (this.tool === 'pen' || this.tool === 'eraser') this.segment(x, y, x, y);
  }

  move(event) {
    if (!this.drag) return;
    const [x, y] = this.point(event);
    const drag = this.drag;
    if (this.tool === 'pen' || this.tool === 'eraser') {
      this.segment(drag.x, drag.y, x, y);
    } else {
      this.ctx.putImageData(drag.before, 0, 0);
      this.shape(drag.x0, drag.y0, x, y);
    }
    drag.x = x;
    drag.y = y;
  }

  up(event) {
    if (!this.drag) return;
    this.move(event);
    this.drag = null;
    this.onChange();
  }

  cancelDrag() {
    if (!this.drag) return;
    this.ctx.putImageData(this.drag.before, 0, 0);
    this.drag = null;
  }

  segment(x0, y0, x1, y1) {
    const ctx = this.ctx;
    ctx.strokeStyle = this.tool === 'eraser' ? kBackground : kInk;
    ctx.lineWidth = this.tool === 'eraser' ? this.lineWidth() * 3 : this.lineWidth();
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }

  shape(x0, y0, x1, y1) {
    const ctx = this.ctx;
    const w = this.lineWidth();
    ctx.strokeStyle = kInk;
    ctx.lineWidth = w;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    if (this.tool === 'box') {
      // Snapped to the model's pixels, as the server's boxes are pixel-exact.
      const s = this.scale;
      const snap = (v) => Math.round(v / s) * s;
      const left = snap(Math.min(x0, x1)), top = snap(Math.min(y0, y1));
      const right = snap(Math.max(x0, x1)), bottom = snap(Math.max(y0, y1));
      ctx.lineJoin = 'miter';
      ctx.strokeRect(left + w / 2, top + w / 2, Math.max(0, right - left - w), Math.max(0, bottom - top - w));
    } else if (this.tool === 'arrow') {
      const angle = Math.atan2(y1 - y0, x1 - x0);
      const head = Math.min(Math.hypot(x1 - x0, y1 - y0) * 0.5, 3.5 * this.scale);
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.moveTo(x1 - head * Math.cos(angle - 0.6), y1 - head * Math.sin(angle - 0.6));
      ctx.lineTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(angle + 0.6), y1 - head * Math.sin(angle + 0.6));
      ctx.stroke();
    }
  }

  key(event) {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'z') {
      event.preventDefault();
      this.undo();
      return;
    }
    const tools = {p: 'pen', t: 'text', b: 'box', a: 'arrow', d: 'dot', e: 'eraser'};
    const tool = tools[event.key.toLowerCase()];
    if (tool && !event.ctrlKey && !event.metaKey && !event.altKey && this.onToolKey) {
      this.onToolKey(tool);
    }
  }
}
