// PNG files written in the page: the models take grayscale (1 channel) or RGB (3 channel)
// pictures, while a canvas only exports RGBA, so the page encodes its own PNGs (8 bits, no
// interlace, zlib "stored" blocks: small pictures need no compression). Also base64 helpers.

const kCrcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = kCrcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes) {
  let a = 1, b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

// A zlib stream of stored (uncompressed) blocks.
function zlibStored(raw) {
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const out = new Uint8Array(2 + raw.length + 5 * blocks + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let at = 2;
  for (let b = 0; b < blocks; b++) {
    const start = b * 65535;
    const length = Math.min(65535, raw.length - start);
    out[at] = b === blocks - 1 ? 1 : 0;
    out[at + 1] = length & 0xff;
    out[at + 2] = length >>> 8;
    out[at + 3] = ~length & 0xff;
    out[at + 4] = (~length >>> 8) & 0xff;
    out.set(raw.subarray(start, start + length), at + 5);
    at += 5 + length;
  }
  new DataView(out.buffer).setUint32(at, adler32(raw));
  return out;
}

/** A PNG of `pixels` (height x width x channels bytes, channels 1 or 3). */
export function encodePng(width, height, channels, pixels) {
  if (channels !== 1 && channels !== 3) throw new Error(`cannot write ${channels} channels`);
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;  // filter: none
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8;                          // bits per sample
  header[9] = channels === 1 ? 0 : 2;     // colour type: gray or RGB
  const signature = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  const parts = [signature, chunk('IHDR', header), chunk('IDAT', zlibStored(raw)),
    chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The picture on `canvas`, averaged over blocks down to width x height (box filter: exact when the
 * canvas is a whole multiple of the size), as `channels` bytes per pixel.
 */
export function canvasPixels(canvas, width, height, channels) {
  const source = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const out = new Uint8Array(width * height * channels);
  const sx = canvas.width / width, sy = canvas.height / height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sum = [0, 0, 0];
      let count = 0;
      for (let v = Math.floor(y * sy); v < Math.floor((y + 1) * sy); v++) {
        for (let u = Math.floor(x * sx); u < Math.floor((x + 1) * sx); u++) {
          const i = 4 * (v * canvas.width + u);
          sum[0] += source[i];
          sum[1] += source[i + 1];
          sum[2] += source[i + 2];
          count++;
        }
      }
      count = Math.max(1, count);
      const o = (y * width + x) * channels;
      if (channels === 1) {
        out[o] = Math.round((0.299 * sum[0] + 0.587 * sum[1] + 0.114 * sum[2]) / count);
      } else {
        for (let c = 0; c < 3; c++) out[o + c] = Math.round(sum[c] / count);
      }
    }
  }
  return out;
}

export function bytesToBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

export function base64ToBytes(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** True when `bytes` start with the PNG signature. */
export function isPng(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes.length >= 8 && signature.every((b, i) => bytes[i] === b);
}

/** Loads an <img> from a URL (data: or blob:); rejects when the browser cannot decode it. */
export function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('not a picture the browser can read'));
    image.src = url;
  });
}
