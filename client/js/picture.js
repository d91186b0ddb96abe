// Before upload: refuse what is not a JPEG/PNG (with the server's wording), turn the
// picture upright from its EXIF orientation, shrink it under the category's limit, and measure
// what looks wrong with it (quality.js).

import { inspect } from "./quality.js";

const OTHER_FORMATS = [
  [[0x47, 0x49, 0x46, 0x38], "GIF"],
  [[0x42, 0x4d], "BMP"],
  [[0x49, 0x49, 0x2a, 0x00], "TIFF"],
  [[0x4d, 0x4d, 0x00, 0x2a], "TIFF"],
  [[0x38, 0x42, 0x50, 0x53], "PSD"],
  [[0x00, 0x00, 0x01, 0x00], "ICO"],
  [[0xff, 0x0a], "JPEG XL"],
];
const ISO_BRANDS = {
  heic: "HEIC", heix: "HEIC", hevc: "HEIC", heim: "HEIC", heis: "HEIC",
  mif1: "HEIF", msf1: "HEIF", avif: "AVIF", avis: "AVIF",
};
const JPEG_QUALITIES = [0.88, 0.8, 0.72, 0.64, 0.56];
const LONGEST_SIDE = 2400; // more pixels than this never fit 200 KB in a readable way
const SHORTEST_SIDE = 480; // stop shrinking here: the server wants at least 300 px

export class PictureProblem extends Error {}

export function kb(size) {
  return size >= 1024 ? `${Math.round(size / 1024)} KB` : `${size} 字节`;
}

function startsWith(bytes, signature, offset = 0) {
  return signature.every((value, i) => bytes[offset + i] === value);
}

/** 'jpeg', 'png', another format's display name, or null: the same reading as the server. */
export function sniffFormat(bytes) {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  const text = (from, to) => String.fromCharCode(...bytes.slice(from, to));
  if (text(0, 4) === "RIFF" && text(8, 12) === "WEBP") return "WebP";
  if (text(4, 8) === "ftyp" && ISO_BRANDS[text(8, 12)]) return ISO_BRANDS[text(8, 12)];
  for (const [signature, name] of OTHER_FORMATS) {
    if (startsWith(bytes, signature)) return name;
  }
  return null;
}

function allowedWords(formats) {
  return formats.map((f) => (f === "jpeg" ? "jpg" : f)).join("、");
}

/** The server's message for a file it would refuse by its first bytes, or null. */
export function refusal(bytes, size, formats) {
  if (size === 0) return "文件是空的，请重新选择图片。";
  const kind = sniffFormat(bytes);
  const allowed = allowedWords(formats);
  if (kind === null) return `文件不是图片，请上传 ${allowed} 格式的照片。`;
  if (!["jpeg", "png"].includes(kind) || !formats.includes(kind)) {
    const label = kind === "png" ? "PNG" : kind === "jpeg" ? "JPG" : kind;
    return `不支持 ${label} 格式，请上传 ${allowed} 格式的照片。`;
  }
  return null;
}

/** EXIF orientation (1..8) of a JPEG, 1 when absent or unreadable. */
export function exifOrientation(buffer) {
  const view = new DataView(buffer);
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return 1;
  let pos = 2;
  while (pos + 4 <= view.byteLength) {
    const marker = view.getUint16(pos);
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return 1;
    const length = view.getUint16(pos + 2);
    if (marker === 0xffe1 && pos + 10 <= view.byteLength && view.getUint32(pos + 4) === 0x45786966) {
      const tiff = pos + 10;
      if (tiff + 8 > view.byteLength) return 1;
      const little = view.getUint16(tiff) === 0x4949;
      const ifd = tiff + view.getUint32(tiff + 4, little);
      if (ifd + 2 > view.byteLength) return 1;
      const count = view.getUint16(ifd, little);
      for (let i = 0; i < count; i += 1) {
        const entry = ifd + 2 + i * 12;
        if (entry + 12 > view.byteLength) return 1;
        if (view.getUint16(entry, little) === 0x0112) {
          const value = view.getUint16(entry + 8, little);
          return value >= 1 && value <= 8 ? value : 1;
        }
      }
      return 1;
    }
    pos += 2 + length;
  }
  return 1;
}

function encode(canvas, quality) {
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

function draw(bitmap, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; // a transparent PNG becomes a JPEG on white
  context.fillRect(0, 0, width, height);
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  return canvas;
}

function jpegName(name) {
  const stem = name.replace(/\.[^.]*$/, "") || "photo";
  return `${stem}.jpg`;
}

/**
 * Check and prepare a chosen file for one category.
 * Resolves to { blob, filename, before, after, width, height, rotated, shrunk, quality }
 * (quality: { measures, warnings } of the picture as it will be sent, or null),
 * or throws PictureProblem with a message for people.
 */
export async function preparePicture(file, category) {
  const head = new Uint8Array(await file.slice(0, 64 * 1024).arrayBuffer());
  const refused = refusal(head, file.size, category.formats);
  if (refused) throw new PictureProblem(refused);
  const orientation = sniffFormat(head) === "jpeg" ? exifOrientation(head.buffer) : 1;

  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    throw new PictureProblem("无法识别这张图片，文件可能已损坏。");
  }
  try {
    const width = bitmap.width;
    const height = bitmap.height;
    const tooBig = file.size > category.maxBytes;
    if (orientation === 1 && !tooBig) {
      return {
        blob: file, filename: file.name, before: file.size, after: file.size,
        width, height, rotated: false, shrunk: false,
        quality: await inspect(bitmap, width, height, sniffFormat(head) === "jpeg"),
      };
    }
    let scale = Math.min(1, LONGEST_SIDE / Math.max(width, height));
    const floor = Math.min(1, SHORTEST_SIDE / Math.min(width, height));
    for (let step = 0; step < 12; step += 1) {
      const w = Math.max(1, Math.round(width * scale));
      const h = Math.max(1, Math.round(height * scale));
      const canvas = draw(bitmap, w, h);
      for (const quality of JPEG_QUALITIES) {
        const blob = await encode(canvas, quality);
        if (blob && blob.size <= category.maxBytes) {
          return {
            blob, filename: jpegName(file.name), before: file.size, after: blob.size,
            width: w, height: h, rotated: orientation !== 1, shrunk: blob.size < file.size,
            quality: await inspect(canvas, w, h, true),
          };
        }
        // Far too big at this scale: lower quality alone will not do, go smaller.
        if (blob && blob.size > category.maxBytes * 2.5) break;
      }
      if (scale <= floor) break;
      scale = Math.max(floor, scale * 0.8);
    }
    throw new PictureProblem(
      `这张图片压缩后仍超过 ${kb(category.maxBytes)}，请换一张更简单的照片，或裁掉多余部分后再上传。`,
    );
  } finally {
    bitmap.close();
  }
}
