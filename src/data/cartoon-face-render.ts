// Rasterises a CARTOON procedural face (cartoon-face-params.ts, the generator before issue 16) on the host: a back-to-front stack of implicit
// shapes, each pixel covered by a shape in proportion to its signed distance to the edge
// (analytic coverage over one pixel), so edges are anti-aliased at any size with one sample.
import type { Rgb } from './face-params.js';
import type { CartoonFaceParams, CartoonIdentity, CartoonNuisance } from './cartoon-face-params.js';

/** One shape of the stack: inside where `f < 0`; `f` need not be a distance (edges use its gradient). */
interface Layer {
  /** Bounding box in face units [u0, v0, u1, v1]; pixels outside skip the shape. */
  readonly box: readonly [number, number, number, number];
  readonly f: (u: number, v: number) => number;
  readonly color: Rgb;
  /** Multiplies the colour at (u, v) (shading, texture); 1 if absent. */
  readonly shade?: (u: number, v: number) => number;
  readonly opacity: number;
  /** Extra edge width in face units (soft shapes such as blush and shadows). */
  readonly soft?: number;
}

/** Fraction of the image the unit face square fills: the head and shoulders fit with margin. */
const FRAME = 1.02;

const sq = (x: number): number => x * x;
const ellipse =
  (cu: number, cv: number, a: number, b: number) =>
  (u: number, v: number): number =>
    Math.sqrt(sq((u - cu) / a) + sq((v - cv) / b)) - 1;
const circle =
  (cu: number, cv: number, r: number) =>
  (u: number, v: number): number =>
    Math.hypot(u - cu, v - cv) - r;
const intersect =
  (...fs: ((u: number, v: number) => number)[]) =>
  (u: number, v: number): number => {
    let m = -Infinity;
    for (const f of fs) m = Math.max(m, f(u, v));
    return m;
  };
const union =
  (...fs: ((u: number, v: number) => number)[]) =>
  (u: number, v: number): number => {
    let m = Infinity;
    for (const f of fs) m = Math.min(m, f(u, v));
    return m;
  };
const scaleRgb = (c: Rgb, s: number): Rgb => [c[0] * s, c[1] * s, c[2] * s];
const box = (cu: number, cv: number, hw: number, hh: number): [number, number, number, number] => [
  cu - hw,
  cv - hh,
  cu + hw,
  cv + hh,
];

/**
 * An almond eye: the intersection of two circular arcs through the corners (+-w, 0), the upper
 * one rising h above the centre, the lower one dipping 0.8 h below. Returns its implicit function
 * and the upper arc's (centre v, radius) for the lid line.
 */
function almond(cu: number, cv: number, w: number, h: number) {
  const rUp = (w * w + h * h) / (2 * h);
  const hLow = 0.8 * h;
  const rLow = (w * w + hLow * hLow) / (2 * hLow);
  const upper = circle(cu, cv - h + rUp, rUp);
  const lower = circle(cu, cv + hLow - rLow, rLow);
  return { f: intersect(upper, lower), upperCentreV: cv - h + rUp, rUp };
}

/** The shapes of one face, back to front, in face units (u right, v down, image = [-1, 1]^2). */
function faceLayers(id: CartoonIdentity, nu: CartoonNuisance): Layer[] {
  const a = id.faceWidth;
  const b = id.faceHeight;
  const cy = -0.1; // face ellipse centre
  const chin = cy + b;
  const layers: Layer[] = [];
  // Yaw: features nearer the camera (nose) move further than the eyes and mouth.
  const featureShift = nu.yaw * a * 0.22;
  const noseShift = nu.yaw * a * 0.34;
  const skin = id.skin;
  const hairTop = cy - b - id.hairVolume;
  const partU = id.hairPart * a * 0.5;
  const hairShade = (u: number, v: number): number => {
    const ang = Math.atan2(v - (hairTop - 0.1), u - partU);
    return (
      0.86 + 0.14 * Math.sin(ang * 55 + 2.5 * Math.sin(ang * 9)) * Math.min(1, Math.hypot(u - partU, v - hairTop) * 6)
    );
  };
  const hairA = a + id.hairVolume;
  const hairB = b * 0.92 + id.hairVolume;
  const hairCv = cy - b * 0.08;

  // Shoulders and neck.
  layers.push({
    box: [-1.2, 0.5, 1.2, 1.6],
    f: ellipse(0, chin + 0.62, a * 2.3, 0.48),
    color: nu.clothing,
    opacity: 1,
    shade: (u) => 0.85 + 0.15 * Math.cos(u * 1.3),
  });
  // Long and medium hair fall behind the face.
  if (id.hairStyle === 'long' || id.hairStyle === 'medium') {
    const bottom = id.hairStyle === 'long' ? chin + 0.35 : cy + b * 0.55;
    const back = union(ellipse(0, hairCv, hairA, hairB), (u: number, v: number) =>
      Math.max(Math.abs(u) - hairA * (1 - (0.12 * Math.max(0, v - cy)) / (bottom - cy)), v - bottom, cy - v),
    );
    layers.push({
      box: [-hairA - 0.05, hairTop - 0.05, hairA + 0.05, bottom + 0.05],
      f: back,
      color: scaleRgb(id.hairColor, 0.8),
      opacity: 1,
      shade: hairShade,
    });
  }
  const neckW = a * 0.5;
  layers.push({
    box: [-neckW - 0.05, cy, neckW + 0.05, 1.4],
    f: (u, v) => Math.max(Math.abs(u) - neckW, cy + b * 0.3 - v),
    color: scaleRgb(skin, 0.86),
    opacity: 1,
    shade: (u, v) => (v < chin + 0.12 ? 0.75 + 0.25 * Math.min(1, (v - chin + 0.02) / 0.14) : 1),
  });
  // Ears, half hidden behind the face; the one on the side we turn away from shows more.
  for (const side of [-1, 1]) {
    const earU = side * (a * 0.97) + featureShift * 0.5;
    const earV = cy + id.eyeY + id.earSize * 0.45;
    const size = id.earSize * (1 - 0.3 * side * nu.yaw);
    layers.push({
      box: box(earU, earV, size, size * 1.2),
      f: ellipse(earU, earV, size * 0.45, size * 0.75),
      color: scaleRgb(skin, 0.93),
      opacity: 1,
    });
    layers.push({
      box: box(earU, earV, size, size * 1.2),
      f: ellipse(earU + side * size * 0.08, earV, size * 0.2, size * 0.45),
      color: scaleRgb(skin, 0.75),
      opacity: 0.6,
      soft: size * 0.1,
    });
  }
  // The face: an ellipse narrowing towards the chin, shaded as a rounded surface.
  const faceF = (u: number, v: number): number => {
    const t = Math.max(0, (v - cy) / b);
    const w = a * (1 - id.jawTaper * 0.5 * t * t);
    return Math.sqrt(sq(u / w) + sq((v - cy) / b)) - 1;
  };
  layers.push({
    box: box(0, cy, a + 0.02, b + 0.02),
    f: faceF,
    color: skin,
    opacity: 1,
    shade: (u, v) => {
      const r2 = sq((u - featureShift * 0.6) / a) + sq((v - cy) / b);
      return 0.8 + 0.2 * Math.sqrt(Math.max(0, 1 - r2 * 0.85));
    },
  });
  // Cheeks: a faint warm blush.
  for (const side of [-1, 1]) {
    const cu = side * id.eyeSpacing * 1.05 + featureShift;
    const cv = cy + (id.eyeY + id.noseY) * 0.5 + b * 0.12;
    layers.push({
      box: box(cu, cv, a * 0.35, a * 0.35),
      f: circle(cu, cv, a * 0.12),
      color: id.lipColor,
      opacity: 0.18,
      soft: a * 0.15,
    });
  }
  // Hair on top: the hair ellipse above a hairline that dips at the temples and at the parting.
  if (id.hairStyle !== 'bald') {
    const line0 = cy - b * (0.45 + 0.25 * id.hairline);
    const hairline = (u: number): number =>
      line0 + b * 0.35 * sq(sq(u / a)) + b * 0.08 * Math.exp(-sq((u - partU) / (a * 0.25)));
    const cap = intersect(
      ellipse(0, hairCv, hairA, hairB),
      (u: number, v: number) => (v - hairline(u)) * 0.5,
      (u: number, v: number) => v - (cy + id.eyeY),
    );
    layers.push({
      box: [-hairA - 0.05, hairTop - 0.05, hairA + 0.05, cy + id.eyeY + 0.02],
      f: cap,
      color: id.hairColor,
      opacity: 1,
      shade: hairShade,
    });
  }
  // Brows: tapered arcs above the eyes.
  const eyeV = cy + id.eyeY;
  for (const side of [-1, 1]) {
    const eu = side * id.eyeSpacing + featureShift;
    const w = id.eyeSize * 1.15 * (1 - 0.25 * side * nu.yaw);
    const bv = eyeV - id.eyeSize * id.eyeOpen - id.browGap - nu.browRaise * id.eyeSize * 0.35;
    const arch = id.browArch * w * 0.35;
    const centre = (u: number): number => {
      const x = (u - eu) / w; // -1 .. 1 across the brow, +1 at the outer end when side = 1
      return bv - arch * (1 - x * x) - id.browTilt * w * 0.3 * x * side;
    };
    const thick = (u: number): number =>
      id.browThickness * (0.55 + 0.45 * (1 - Math.abs((u - eu) / w - side * -0.4) / 1.4));
    layers.push({
      box: box(eu, bv - arch, w + 0.04, id.browThickness + w * 0.3 + 0.04),
      f: (u, v) => Math.max(Math.abs(v - centre(u)) - thick(u), Math.abs(u - eu) - w),
      color: id.browColor,
      opacity: 0.95,
    });
  }
  // Eyes: white, iris, pupil, highlight, upper lid.
  for (const side of [-1, 1]) {
    const eu = side * id.eyeSpacing + featureShift;
    const w = id.eyeSize * (1 - 0.25 * side * nu.yaw);
    const h = id.eyeSize * id.eyeOpen;
    const eye = almond(eu, eyeV, w, h);
    const bb = box(eu, eyeV, w + 0.03, h * 2 + 0.03);
    layers.push({
      box: box(eu, eyeV, w * 1.5, h * 2.5),
      f: ellipse(eu, eyeV - h * 0.3, w * 1.25, h * 1.6),
      color: scaleRgb(id.skin, 0.82),
      opacity: 0.45,
      soft: h * 0.5,
    });
    layers.push({ box: bb, f: eye.f, color: [0.93, 0.91, 0.88], opacity: 1 });
    const ir = h * 0.95;
    const iu = eu + nu.gazeU * w * 0.5 + nu.yaw * w * 0.2;
    const iv = eyeV + nu.gazeV * h * 0.4;
    layers.push({
      box: bb,
      f: intersect(circle(iu, iv, ir), eye.f),
      color: id.irisColor,
      opacity: 1,
      shade: (u, v) => 0.75 + 0.4 * Math.min(1, Math.hypot(u - iu, v - iv) / ir),
    });
    layers.push({ box: bb, f: intersect(circle(iu, iv, ir * 0.45), eye.f), color: [0.03, 0.03, 0.03], opacity: 1 });
    layers.push({
      box: bb,
      f: intersect(circle(iu - ir * 0.3, iv - ir * 0.3, ir * 0.2), eye.f),
      color: [1, 1, 1],
      opacity: 0.85,
    });
    const lidT = Math.max(0.008, h * 0.14);
    layers.push({
      box: bb,
      f: (u, v) =>
        Math.max(
          Math.abs(Math.hypot(u - eu, v - eye.upperCentreV) - eye.rUp) - lidT,
          Math.abs(u - eu) - w * 1.06,
          v - eyeV,
        ),
      color: [0.08, 0.05, 0.04],
      opacity: 0.9,
    });
  }
  // Nose: a soft shadow along one side of the bridge, the tip, and the nostrils.
  const nu0 = noseShift;
  const noseV = cy + id.noseY;
  const nw = id.noseWidth;
  const shadowSide = Math.cos(nu.lightAngle) > 0 ? -1 : 1;
  layers.push({
    box: [nu0 - nw * 1.2, eyeV, nu0 + nw * 1.2, noseV + nw],
    f: (u, v) =>
      Math.max(
        Math.abs(u - (nu0 + shadowSide * nw * (0.35 + (0.3 * (v - eyeV)) / (noseV - eyeV)))) - nw * 0.12,
        eyeV + 0.03 - v,
        v - noseV,
      ),
    color: scaleRgb(skin, 0.72),
    opacity: 0.35,
    soft: nw * 0.2,
  });
  layers.push({
    box: box(nu0, noseV, nw * 1.2, nw),
    f: ellipse(nu0, noseV - nw * 0.05, nw * 0.75, nw * 0.5),
    color: scaleRgb(skin, 0.8),
    opacity: 0.45,
    soft: nw * 0.3,
  });
  layers.push({
    box: box(nu0, noseV, nw * 1.2, nw),
    f: ellipse(nu0 + nw * 0.1, noseV - nw * 0.2, nw * 0.3, nw * 0.2),
    color: [1, 1, 1],
    opacity: 0.18,
    soft: nw * 0.2,
  });
  for (const side of [-1, 1]) {
    layers.push({
      box: box(nu0 + side * nw * 0.45, noseV + nw * 0.25, nw * 0.5, nw * 0.4),
      f: ellipse(nu0 + side * nw * 0.42, noseV + nw * 0.22, nw * 0.22, nw * 0.13),
      color: scaleRgb(skin, 0.35),
      opacity: 0.85,
    });
  }
  // Mouth: lips around a centre line whose corners rise with the smile; dark opening when open.
  const mu = featureShift;
  const mv = cy + id.mouthY;
  const mw = id.mouthWidth * (1 + 0.12 * nu.smile);
  const curve = (id.mouthCurve + nu.smile) * mw * 0.35;
  const open = nu.mouthOpen * id.lowerLip * 1.6;
  const env = (u: number): number => Math.sqrt(Math.max(0, 1 - sq((u - mu) / mw)));
  const line = (u: number): number => mv - curve * sq((u - mu) / mw) + curve * 0.3;
  const cupid = (u: number): number => id.upperLip * 0.35 * Math.exp(-sq((u - mu) / (mw * 0.18)));
  const mbox = box(mu, mv, mw + 0.03, id.upperLip + id.lowerLip + open + Math.abs(curve) + 0.03);
  layers.push({
    box: mbox,
    f: (u, v) =>
      Math.max(
        line(u) - open * 0.5 * env(u) - (id.upperLip * env(u) - cupid(u)) - v,
        v - (line(u) + open * 0.5 * env(u) + id.lowerLip * env(u)),
        Math.abs(u - mu) - mw,
      ),
    color: id.lipColor,
    opacity: 1,
    shade: (u, v) => (v > line(u) ? 1.08 : 0.9),
  });
  if (open > 0) {
    layers.push({
      box: mbox,
      f: (u, v) => Math.max(Math.abs(v - line(u)) - open * 0.5 * env(u), Math.abs(u - mu) - mw * 0.9),
      color: [0.18, 0.05, 0.06],
      opacity: 1,
    });
    layers.push({
      box: mbox,
      f: (u, v) =>
        Math.max(
          Math.abs(v - line(u)) - open * 0.5 * env(u),
          Math.abs(u - mu) - mw * 0.6,
          v - (line(u) - open * 0.5 * env(u) + open * 0.35),
        ),
      color: [0.92, 0.9, 0.85],
      opacity: 1,
    });
  } else {
    layers.push({
      box: mbox,
      f: (u, v) => Math.max(Math.abs(v - line(u)) - Math.max(0.004, id.upperLip * 0.12), Math.abs(u - mu) - mw * 1.02),
      color: scaleRgb(id.lipColor, 0.4),
      opacity: 0.85,
    });
  }
  // A soft shadow under the lower lip.
  layers.push({
    box: box(mu, mv + id.lowerLip * 2, mw, id.lowerLip * 2),
    f: ellipse(mu, mv + id.lowerLip + open * 0.5 + id.lowerLip * 0.9, mw * 0.45, id.lowerLip * 0.4),
    color: scaleRgb(skin, 0.75),
    opacity: 0.3,
    soft: id.lowerLip * 0.5,
  });
  return layers;
}

/**
 * Renders a face as float32 CHW planes [3, size, size] in [0, 1] (sRGB). Deterministic: the
 * same parameters give the same bytes.
 */
export function renderCartoonFace(params: CartoonFaceParams, size: number): Float32Array {
  if (!Number.isInteger(size) || size < 8 || size > 1024) {
    throw new RangeError(`renderCartoonFace: size must be an integer in [8, 1024], got ${size}.`);
  }
  const { identity: id, nuisance: nu } = params;
  const layers = faceLayers(id, nu);
  const n = layers.length;
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const cosR = Math.cos(nu.rotation);
  const sinR = Math.sin(nu.rotation);
  const toFace = 1 / (FRAME * nu.scale);
  const px = (2 / size) * toFace; // one pixel in face units
  const eps = px * 0.25;
  const lightU = Math.cos(nu.lightAngle) * nu.lightStrength;
  const lightV = Math.sin(nu.lightAngle) * nu.lightStrength;
  const bgU = Math.cos(nu.backgroundAngle);
  const bgV = Math.sin(nu.backgroundAngle);
  for (let y = 0; y < size; y++) {
    const py = ((y + 0.5) / size) * 2 - 1;
    for (let x = 0; x < size; x++) {
      const pxImg = ((x + 0.5) / size) * 2 - 1;
      // Image -> face coordinates: undo shift, rotation and scale.
      const du = pxImg - nu.shiftU;
      const dv = py - nu.shiftV;
      const u = (cosR * du + sinR * dv) * toFace;
      const v = (-sinR * du + cosR * dv) * toFace;
      const t = Math.min(1, Math.max(0, 0.5 + 0.35 * (pxImg * bgU + py * bgV)));
      let r = nu.background0[0] + (nu.background1[0] - nu.background0[0]) * t;
      let g = nu.background0[1] + (nu.background1[1] - nu.background0[1]) * t;
      let bl = nu.background0[2] + (nu.background1[2] - nu.background0[2]) * t;
      for (let i = 0; i < n; i++) {
        const L = layers[i];
        const bx = L.box;
        if (u < bx[0] - px || u > bx[2] + px || v < bx[1] - px || v > bx[3] + px) continue;
        const f0 = L.f(u, v);
        const gu = (L.f(u + eps, v) - f0) / eps;
        const gv = (L.f(u, v + eps) - f0) / eps;
        const grad = Math.hypot(gu, gv);
        const dist = grad > 1e-9 ? f0 / grad : f0 < 0 ? -Infinity : Infinity;
        const width = px + (L.soft ?? 0);
        const cover = Math.min(1, Math.max(0, 0.5 - dist / width));
        if (cover <= 0) continue;
        const alpha = cover * L.opacity;
        const s = L.shade ? L.shade(u, v) : 1;
        r += (L.color[0] * s - r) * alpha;
        g += (L.color[1] * s - g) * alpha;
        bl += (L.color[2] * s - bl) * alpha;
      }
      const light = nu.ambient + lightU * pxImg + lightV * py;
      const o = y * size + x;
      out[o] = Math.min(1, Math.max(0, r * light));
      out[plane + o] = Math.min(1, Math.max(0, g * light));
      out[2 * plane + o] = Math.min(1, Math.max(0, bl * light));
    }
  }
  return out;
}
