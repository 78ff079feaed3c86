// Draws the playground's sample images procedurally and writes them as PNGs to public/samples/.
// They are made by the project (no photographs, no data set images) and released under CC0.
// Usage: node scripts/node/make-samples.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';

const SIZE = 96;
const SUPERSAMPLE = 4;

function encodePng(width, height, rgb) {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    rgb.copy(raw, y * (1 + width * 3) + 1, y * width * 3, (y + 1) * width * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Renders `shade(x, y)` (coordinates in [0, 1], y down) with supersampling; shade returns [r, g, b]. */
function render(shade) {
  const rgb = Buffer.alloc(SIZE * SIZE * 3);
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      const sum = [0, 0, 0];
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const c = shade((px + (sx + 0.5) / SUPERSAMPLE) / SIZE, (py + (sy + 0.5) / SUPERSAMPLE) / SIZE);
          for (let k = 0; k < 3; k++) sum[k] += c[k];
        }
      }
      for (let k = 0; k < 3; k++) rgb[(py * SIZE + px) * 3 + k] = Math.round(sum[k] / SUPERSAMPLE ** 2);
    }
  }
  return encodePng(SIZE, SIZE, rgb);
}

const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * Math.min(1, Math.max(0, t)));
const inEllipse = (x, y, cx, cy, rx, ry) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
const inRect = (x, y, x0, y0, x1, y1) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
function inPolygon(x, y, points) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
// A small deterministic texture so the surfaces are not perfectly flat.
const grain = (x, y, amount) => ((Math.sin(x * 311.7 + y * 127.1) * 43758.5453) % 1) * amount;

const sky = (y, top = [96, 150, 214], bottom = [196, 222, 244]) => mix(top, bottom, y / 0.55);
const sea = (x, y) => {
  const wave = Math.sin(x * 60 + y * 140) * 0.5 + 0.5;
  return mix(mix([40, 98, 150], [20, 60, 110], (y - 0.55) / 0.45), [120, 170, 210], wave * 0.18);
};

const samples = {
  'sky-and-sea': (x, y) => {
    if (inEllipse(x, y, 0.75, 0.2, 0.07, 0.07)) return [255, 238, 170];
    if (inEllipse(x, y, 0.3, 0.22, 0.14, 0.05) || inEllipse(x, y, 0.38, 0.19, 0.09, 0.05)) return [245, 248, 252];
    return y < 0.55 ? sky(y) : sea(x, y);
  },
  ship: (x, y) => {
    const hull = [
      [0.15, 0.56],
      [0.85, 0.56],
      [0.76, 0.68],
      [0.22, 0.68],
    ];
    if (inPolygon(x, y, hull)) return y < 0.6 ? [180, 40, 40] : [50, 50, 58];
    if (inRect(x, y, 0.3, 0.44, 0.62, 0.56)) return [236, 236, 232];
    if (inRect(x, y, 0.36, 0.46, 0.58, 0.49)) return [60, 80, 110];
    if (inRect(x, y, 0.5, 0.34, 0.56, 0.44)) return [200, 60, 40];
    if (inRect(x, y, 0.4, 0.22, 0.415, 0.44)) return [70, 70, 70];
    return y < 0.6 ? sky(y) : sea(x, y);
  },
  'red-car': (x, y) => {
    const wheel = (cx) => inEllipse(x, y, cx, 0.7, 0.085, 0.085);
    if (wheel(0.3) || wheel(0.72))
      return inEllipse(x, y, x < 0.5 ? 0.3 : 0.72, 0.7, 0.035, 0.035) ? [170, 170, 175] : [25, 25, 28];
    const cabin = [
      [0.3, 0.5],
      [0.38, 0.36],
      [0.64, 0.36],
      [0.74, 0.5],
    ];
    if (inPolygon(x, y, cabin)) {
      if (
        inPolygon(x, y, [
          [0.34, 0.49],
          [0.4, 0.39],
          [0.5, 0.39],
          [0.5, 0.49],
        ]) ||
        inPolygon(x, y, [
          [0.53, 0.49],
          [0.53, 0.39],
          [0.62, 0.39],
          [0.69, 0.49],
        ])
      )
        return [150, 195, 225];
      return [200, 30, 35];
    }
    if (inRect(x, y, 0.12, 0.5, 0.9, 0.7) && !(x < 0.14 && y < 0.54)) return y < 0.53 ? [225, 60, 60] : [200, 30, 35];
    if (y > 0.74) return mix([90, 90, 95], [70, 70, 75], grain(x, y, 1));
    return mix([160, 200, 235], [225, 235, 240], y / 0.74);
  },
  horse: (x, y) => {
    const body = inEllipse(x, y, 0.5, 0.5, 0.2, 0.1);
    const neck = inPolygon(x, y, [
      [0.62, 0.46],
      [0.7, 0.3],
      [0.76, 0.32],
      [0.72, 0.5],
    ]);
    const head = inPolygon(x, y, [
      [0.7, 0.27],
      [0.86, 0.36],
      [0.84, 0.4],
      [0.72, 0.34],
    ]);
    const ear = inPolygon(x, y, [
      [0.71, 0.28],
      [0.72, 0.22],
      [0.745, 0.29],
    ]);
    const legs = [0.36, 0.42, 0.58, 0.64].some((lx) => inRect(x, y, lx - 0.018, 0.55, lx + 0.018, 0.78));
    const tail = inPolygon(x, y, [
      [0.31, 0.46],
      [0.24, 0.52],
      [0.22, 0.66],
      [0.27, 0.56],
      [0.32, 0.5],
    ]);
    if (body || neck || head || ear || legs || tail) return [92, 58, 34];
    if (y > 0.66) return mix([70, 140, 60], [50, 110, 40], grain(x, y, 1) + (y - 0.66));
    if (inEllipse(x, y, 0.2, 0.66, 0.3, 0.08)) return [90, 150, 80];
    return mix([120, 175, 230], [210, 230, 240], y / 0.66);
  },
  airplane: (x, y) => {
    const fuselage = inEllipse(x, y, 0.5, 0.5, 0.32, 0.05);
    const wing =
      inPolygon(x, y, [
        [0.45, 0.5],
        [0.58, 0.5],
        [0.42, 0.8],
        [0.36, 0.8],
      ]) ||
      inPolygon(x, y, [
        [0.45, 0.5],
        [0.58, 0.5],
        [0.42, 0.2],
        [0.36, 0.2],
      ]);
    const tail = inPolygon(x, y, [
      [0.2, 0.5],
      [0.27, 0.5],
      [0.2, 0.36],
      [0.16, 0.36],
    ]);
    if (fuselage && x > 0.76 && y < 0.5) return [60, 80, 110];
    if (fuselage || wing || tail) return wing ? [200, 204, 210] : [235, 236, 240];
    return mix([70, 130, 205], [170, 205, 240], y);
  },
};

const outDir = new URL('../../public/samples/', import.meta.url);
mkdirSync(outDir, { recursive: true });
for (const [name, shade] of Object.entries(samples)) {
  const png = render(shade);
  writeFileSync(new URL(`${name}.png`, outDir), png);
  console.log(`public/samples/${name}.png  ${png.length} bytes`);
}
