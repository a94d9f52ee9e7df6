/**
 * A minimal PNG writer and line-chart painter for the bench, with node:zlib and nothing else:
 * 8-bit RGB, filter 0 on every row, one IDAT chunk. Text is a built-in 5x7 pixel font (digits,
 * capitals and a few signs; lower case is drawn as capitals).
 */
import { deflateSync } from 'node:zlib';

export type Rgb = readonly [number, number, number];

/** An RGB raster. */
export class Raster {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.pixels.set(background, i * 3);
  }

  set(x: number, y: number, color: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.pixels.set(color, (y * this.width + x) * 3);
  }

  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let dy = 0; dy < h; dy++) for (let dx = 0; dx < w; dx++) this.set(x + dx, y + dy, color);
  }

  /** A line `thickness` pixels wide (square pen). */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const half = Math.floor(thickness / 2);
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      this.rect(Math.round(x) - half, Math.round(y) - half, thickness, thickness, color);
    }
  }

  /** Text at (x, y) = its top-left corner, each font pixel `scale` pixels wide. */
  text(x: number, y: number, text: string, color: Rgb, scale = 1): void {
    let cx = x;
    for (const char of text.toUpperCase()) {
      const glyph = FONT[char] ?? FONT['?']!;
      for (let row = 0; row < 7; row++) {
        for (let col = 0; col < 5; col++) if ((glyph[row]! >> (4 - col)) & 1) this.rect(cx + col * scale, y + row * scale, scale, scale, color);
      }
      cx += 6 * scale;
    }
  }

  /** The width `text` takes. */
  static textWidth(text: string, scale = 1): number {
    return text.length * 6 * scale - scale;
  }

  toPng(): Buffer {
    return encodePng(this.width, this.height, this.pixels);
  }
}

/** Encodes 8-bit RGB pixels (row-major, 3 bytes each) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  header[10] = 0; // compression
  header[11] = 0; // filter method
  header[12] = 0; // no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface Series {
  label: string;
  color: Rgb;
  points: ReadonlyArray<readonly [number, number]>;
}

/**
 * A line chart: x on a log2 axis (client counts 1, 2, 4...), y linear from 0, a legend, and
 * every point marked and labelled on the axes' ticks.
 */
export function lineChart(options: { title: string; xLabel: string; yLabel: string; series: readonly Series[]; width?: number; height?: number }): Raster {
  const width = options.width ?? 760;
  const height = options.height ?? 460;
  const chart = new Raster(width, height);
  const ink: Rgb = [30, 30, 30];
  const grid: Rgb = [225, 225, 225];
  const left = 80;
  const right = width - 20;
  const top = 50;
  const bottom = height - 60;

  const xs = [...new Set(options.series.flatMap((series) => series.points.map(([x]) => x)))].sort((a, b) => a - b);
  const yMax = niceCeiling(Math.max(1, ...options.series.flatMap((series) => series.points.map(([, y]) => y))));
  const xMin = Math.log2(xs[0] ?? 1);
  const xMax = Math.max(xMin + 1, Math.log2(xs[xs.length - 1] ?? 2));
  const px = (x: number): number => left + ((Math.log2(x) - xMin) / (xMax - xMin)) * (right - left);
  const py = (y: number): number => bottom - (y / yMax) * (bottom - top);

  chart.text(left, 16, options.title, ink, 2);
  // Horizontal grid and y ticks.
  for (let i = 0; i <= 5; i++) {
    const value = (yMax * i) / 5;
    const y = py(value);
    chart.line(left, y, right, y, grid);
    const label = compact(value);
    chart.text(left - 8 - Raster.textWidth(label), Math.round(y) - 3, label, ink);
  }
  // Vertical ticks at each x.
  for (const x of xs) {
    chart.line(px(x), top, px(x), bottom, grid);
    const label = String(x);
    chart.text(Math.round(px(x) - Raster.textWidth(label) / 2), bottom + 8, label, ink);
  }
  chart.line(left, top, left, bottom, ink);
  chart.line(left, bottom, right, bottom, ink);
  chart.text(Math.round((left + right) / 2 - Raster.textWidth(options.xLabel) / 2), bottom + 24, options.xLabel, ink);
  chart.text(8, top - 16, options.yLabel, ink);

  options.series.forEach((series, index) => {
    const points = [...series.points].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < points.length; i++) chart.line(px(points[i - 1]![0]), py(points[i - 1]![1]), px(points[i]![0]), py(points[i]![1]), series.color, 3);
    for (const [x, y] of points) chart.rect(Math.round(px(x)) - 3, Math.round(py(y)) - 3, 7, 7, series.color);
    const legendY = height - 22;
    const legendX = left + index * 200;
    chart.rect(legendX, legendY, 14, 7, series.color);
    chart.text(legendX + 20, legendY, series.label, ink);
  });
  return chart;
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function compact(value: number): string {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}K`;
  return String(Math.round(value));
}

/** 5x7 glyphs, one number per row, bit 4 = leftmost column. */
const FONT: Record<string, readonly number[]> = {
  ' ': [0, 0, 0, 0, 0, 0, 0],
  '0': [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '2': [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  '3': [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  '4': [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  '6': [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  '7': [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  '8': [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  '9': [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  A: [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  D: [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
  H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
  L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
  N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
  R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
  X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04],
  Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  '.': [0, 0, 0, 0, 0, 0x0c, 0x0c],
  ',': [0, 0, 0, 0, 0x0c, 0x04, 0x08],
  ':': [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0],
  '-': [0, 0, 0, 0x1f, 0, 0, 0],
  '+': [0, 0x04, 0x04, 0x1f, 0x04, 0x04, 0],
  '/': [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
  '(': [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
  ')': [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
  '%': [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
  '=': [0, 0, 0x1f, 0, 0x1f, 0, 0],
  '?': [0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
};
