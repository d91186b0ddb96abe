// Before upload: the same three measures the service takes (storage/measures.py) on the picture
// about to be sent, and the same rule, with the thresholds the service publishes. The service
// measures again on what arrives; this only lets the candidate retake a photo before sending it.

import { QUALITY_WARNING_WORDS as WORDS } from "./words.js";

// A slow line must not hold the preview up: without the thresholds in time, the page skips its
// own check (the service still measures what arrives).
const CHECKS_WAIT_MS = 3000;
let published = null;

/** Start reading the service's thresholds (GET /picture-checks.json), once. */
export function loadChecks() {
  if (published === null) {
    published = fetch("/picture-checks.json")
      .then((response) => (response.ok ? response.json() : null))
      .catch(() => null)
      .then((found) => {
        if (found === null) published = null; // try again next time
        return found;
      });
  }
  return published;
}

function checks() {
  const late = new Promise((resolve) => { setTimeout(() => resolve(null), CHECKS_WAIT_MS); });
  return Promise.race([loadChecks(), late]);
}

/** 照片可能模糊／过暗，建议重新拍摄。 — naming only what applies; "" when nothing does. */
export function warningWords(warnings, advice = "，建议重新拍摄。") {
  if (!warnings || !warnings.length) return "";
  return `照片可能${warnings.map((w) => WORDS[w] || w).join("／")}${advice}`;
}

// Pillow's "L": ITU-R 601-2 luma in 16-bit fixed point.
function grey(rgba) {
  const out = new Uint8Array(rgba.length / 4);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 1) {
    out[j] = (rgba[i] * 19595 + rgba[i + 1] * 38470 + rgba[i + 2] * 7471 + 0x8000) >> 16;
  }
  return out;
}

// Pillow's BOX resample: every input pixel whose centre lies in the output pixel's box weighs
// the same; coefficients in 22-bit fixed point, rounded to 8 bits after each of the two passes.
const PRECISION = 22;

function boxCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale * 0.5;
  const rows = [];
  for (let xx = 0; xx < outSize; xx += 1) {
    const centre = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(centre - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(centre + support + 0.5)) - xmin;
    const weights = [];
    let total = 0;
    for (let x = 0; x < xmax; x += 1) {
      const at = (x + xmin - centre + 0.5) / filterScale;
      const w = at > -0.5 && at <= 0.5 ? 1 : 0;
      weights.push(w);
      total += w;
    }
    rows.push({ xmin, weights: weights.map((w) => Math.trunc(0.5 + (w / total) * 2 ** PRECISION)) });
  }
  return rows;
}

function resampled(value) {
  const v = Math.floor((value + 2 ** (PRECISION - 1)) / 2 ** PRECISION);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function boxResize(pixels, width, height, side) {
  const across = boxCoefficients(width, side);
  const wide = new Uint8Array(side * height);
  for (let y = 0; y < height; y += 1) {
    for (let xx = 0; xx < side; xx += 1) {
      const { xmin, weights } = across[xx];
      let sum = 0;
      for (let k = 0; k < weights.length; k += 1) sum += pixels[y * width + xmin + k] * weights[k];
      wide[y * side + xx] = resampled(sum);
    }
  }
  const down = boxCoefficients(height, side);
  const square = new Uint8Array(side * side);
  for (let yy = 0; yy < side; yy += 1) {
    const { xmin, weights } = down[yy];
    for (let x = 0; x < side; x += 1) {
      let sum = 0;
      for (let k = 0; k < weights.length; k += 1) sum += wide[(xmin + k) * side + x] * weights[k];
      square[yy * side + x] = resampled(sum);
    }
  }
  return square;
}

// The service reads a JPEG with a reduced decode (Pillow's draft for its 320-pixel thumbnail):
// 1/2, 1/4 or 1/8 of each side, the largest that keeps both sides at 320 or more. Averaging
// blocks of that size stands in for it here.
const DRAFT_SIDE = 320;

function draftScale(width, height) {
  const most = Math.min(Math.floor(width / DRAFT_SIDE), Math.floor(height / DRAFT_SIDE));
  return [8, 4, 2, 1].find((scale) => most >= scale) || 1;
}

function reduced(pixels, width, height, scale) {
  if (scale === 1) return { pixels, width, height };
  const w = Math.ceil(width / scale);
  const h = Math.ceil(height / scale);
  const out = new Uint8Array(w * h);
  for (let yy = 0; yy < h; yy += 1) {
    for (let xx = 0; xx < w; xx += 1) {
      let sum = 0;
      let count = 0;
      for (let y = yy * scale; y < Math.min(height, (yy + 1) * scale); y += 1) {
        for (let x = xx * scale; x < Math.min(width, (xx + 1) * scale); x += 1) {
          sum += pixels[y * width + x];
          count += 1;
        }
      }
      out[yy * w + xx] = Math.round(sum / count);
    }
  }
  return { pixels: out, width: w, height: h };
}

/**
 * { sharpness, brightness, glare } of RGBA pixels, as the service measures them.
 * jpeg: the picture goes up as a JPEG, which the service reads with a reduced decode.
 */
export function measure(rgba, width, height, { jpeg = true, side = 256, nearWhite = 250 } = {}) {
  const read = reduced(grey(rgba), width, height, jpeg ? draftScale(width, height) : 1);
  const square = boxResize(read.pixels, read.width, read.height, side);
  let sum = 0;
  let white = 0;
  for (const v of square) {
    sum += v;
    if (v >= nearWhite) white += 1;
  }
  // The Laplacian's variance in each of 8×8 tiles of 31 pixels, over the 8 most detailed tiles.
  const tiles = 8;
  const tileSide = 31;
  const sums = new Float64Array(tiles * tiles);
  const squares = new Float64Array(tiles * tiles);
  for (let y = 1; y < side - 1; y += 1) {
    const ty = Math.floor((y - 1) / tileSide);
    if (ty >= tiles) break;
    for (let x = 1; x < side - 1; x += 1) {
      const tx = Math.floor((x - 1) / tileSide);
      if (tx >= tiles) break;
      const i = y * side + x;
      const v = square[i - 1] + square[i + 1] + square[i - side] + square[i + side] - 4 * square[i];
      sums[ty * tiles + tx] += v;
      squares[ty * tiles + tx] += v * v;
    }
  }
  const count = tileSide * tileSide;
  const variances = Array.from(sums, (sum, k) => {
    const mean = sum / count;
    return Math.max(squares[k] / count - mean * mean, 0);
  }).sort((a, b) => b - a);
  return {
    sharpness: variances.slice(0, 8).reduce((a, b) => a + b, 0) / 8,
    brightness: sum / (side * side),
    glare: white / (side * side),
  };
}

/** The service's rule (storage/measures.py quality_warnings), in the same order. */
export function qualityWarnings(m, t) {
  const dark = m.brightness < t.darkBelow;
  const bright = m.brightness > t.brightAbove;
  const glare = t.glareAbove < m.glare && m.glare < t.glarePageShare;
  const found = [];
  if (!(dark || bright || glare) && m.sharpness < t.blurryBelow) found.push("BLURRY");
  if (dark && m.sharpness < t.darkDetailBelow) found.push("TOO_DARK");
  if (bright && m.sharpness < t.scanSharpness) found.push("OVEREXPOSED");
  if (glare) found.push("GLARE");
  return found;
}

/**
 * What looks wrong on an upright picture (a canvas or an ImageBitmap on white):
 * { measures, warnings }, or null when the thresholds cannot be read.
 */
export async function inspect(source, width, height, jpeg) {
  const published = await checks();
  if (!published) return null;
  let canvas = source;
  if (!(source instanceof HTMLCanvasElement)) {
    canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // as the service flattens a transparent PNG on white
    context.fillRect(0, 0, width, height);
    context.drawImage(source, 0, 0);
  }
  const pixels = canvas.getContext("2d", { willReadFrequently: true }).getImageData(0, 0, width, height).data;
  const measures = measure(pixels, width, height, {
    jpeg, side: published.measureSide, nearWhite: published.nearWhite,
  });
  return { measures, warnings: qualityWarnings(measures, published.thresholds) };
}
