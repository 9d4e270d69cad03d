// Rasterises a procedural face (face-params.ts) on the host, in either style: a back-to-front
// stack of implicit shapes, each pixel covered by a shape in proportion to its signed distance to
// the edge (analytic coverage over one pixel), so edges are anti-aliased at any size with one
// sample. The steps are written once; what a style does differently (camera, hair, eyes, extra
// layers, background, shading, optics) is its entry in RENDER_STYLES.
import type {
  CartoonFaceParams,
  CartoonIdentity,
  CartoonNuisance,
  FaceIdentity,
  FaceParams,
  FaceParamsOf,
  FaceStyle,
  Rgb,
} from './face-params.js';
import { ffhqQuad } from './ffhq-align.js';
import { fbm } from './value-noise.js';

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

type Implicit = (u: number, v: number) => number;

/** Where a style's extra layers attach: the face's outline and its feature positions (face units). */
interface FaceFrame {
  readonly a: number;
  readonly b: number;
  /** The face ellipse's centre height, and the eyes' height. */
  readonly cy: number;
  readonly eyeV: number;
  /** The sideways shift of eyes and mouth with yaw. */
  readonly featureShift: number;
  /** One pixel in face units. */
  readonly px: number;
  /** The face outline (the ellipse narrowing towards the chin). */
  readonly faceF: Implicit;
}

/** Image -> face coordinates. */
interface Camera {
  /** One pixel in face units. */
  readonly px: number;
  /** Writes the face coordinates (u, v) of the image point (du, dv) (from the image centre, after the shift) to `uv`. */
  readonly toFace: (du: number, dv: number, uv: Float64Array) => void;
}

/** What one style renders differently; the shared steps are faceLayers and render. */
interface RenderStyle<P extends CartoonFaceParams> {
  readonly camera: (params: P, size: number) => Camera;
  /** The hair's shading at (u, v), given the parting's u and the top of the hair. */
  readonly hairShade: (id: P['identity'], px: number, partU: number, hairTop: number) => Implicit;
  readonly eyeWhite: Rgb;
  readonly irisRadius: (w: number, h: number) => number;
  readonly highlightOpacity: number;
  /** Layers over the nose and under the mouth (a beard), and over everything (glasses). */
  readonly underMouth?: (id: P['identity'], frame: FaceFrame) => Layer[];
  readonly onTop?: (id: P['identity'], frame: FaceFrame) => Layer[];
  /**
   * Skips the edge gradient where a pixel is far inside or outside a shape, by a bound on the
   * gradient sampled over each shape's box: faster, but a bound from samples could move an edge
   * pixel, so the cartoon style (whose pixels predate it) renders without it.
   */
  readonly edgeBand: boolean;
  /** Out-of-focus blotches of colour added to the background gradient (all channels, and red minus blue). */
  readonly clutter?: (nu: P['nuisance'], px: number) => { readonly blotch: Implicit; readonly tint: Implicit };
  /** The head shaded as a lit rounded surface with skin texture: a factor on the light at (u, v). */
  readonly headLight?: (params: P, px: number) => Implicit;
  /** The colour cast (multipliers per channel) and the lens blur (Gaussian sigma in pixels). */
  readonly optics: (nu: P['nuisance'], size: number) => { readonly cast: Rgb; readonly blur: number };
}

/** The shapes of one face, back to front, in face units (u right, v down, image = [-1, 1]^2). */
function faceLayers<P extends CartoonFaceParams>(
  id: P['identity'],
  nu: P['nuisance'],
  px: number,
  style: RenderStyle<P>,
): Layer[] {
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
  const hairShade = style.hairShade(id, px, partU, hairTop);
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
    layers.push({ box: bb, f: eye.f, color: style.eyeWhite, opacity: 1 });
    const ir = style.irisRadius(w, h);
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
      opacity: style.highlightOpacity,
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
  const frame: FaceFrame = { a, b, cy, eyeV, featureShift, px, faceF };
  if (style.underMouth) layers.push(...style.underMouth(id, frame));
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
  if (style.onTop) layers.push(...style.onTop(id, frame));
  return layers;
}

// ---- The cartoon style: framed head and shoulders, flat fills, glossy hair.

/** Fraction of the image the unit face square fills: the head and shoulders fit with margin. */
const FRAME = 1.02;

/** The cartoon camera: the face square fills FRAME of the image, then shift, rotation and scale. */
function frameCamera({ nuisance: nu }: CartoonFaceParams, size: number): Camera {
  const cosR = Math.cos(nu.rotation);
  const sinR = Math.sin(nu.rotation);
  const toFace = 1 / (FRAME * nu.scale);
  return {
    px: (2 / size) * toFace,
    toFace: (du, dv, uv) => {
      uv[0] = (cosR * du + sinR * dv) * toFace;
      uv[1] = (-sinR * du + cosR * dv) * toFace;
    },
  };
}

/** Glossy cartoon hair: a sheen of waves around the parting. */
const sheenHair =
  (_id: CartoonIdentity, _px: number, partU: number, hairTop: number): Implicit =>
  (u, v) => {
    const ang = Math.atan2(v - (hairTop - 0.1), u - partU);
    return (
      0.86 + 0.14 * Math.sin(ang * 55 + 2.5 * Math.sin(ang * 9)) * Math.min(1, Math.hypot(u - partU, v - hairTop) * 6)
    );
  };

// ---- The photographic style: FFHQ-aligned crop, textured hair and skin, beard, glasses, lit
// head, background clutter, colour cast and lens blur.

/** Where the face's eyes and mouth corners are (face units), for the FFHQ-style crop. */
function anchors(
  id: CartoonIdentity,
  nu: CartoonNuisance,
): {
  leftEye: [number, number];
  rightEye: [number, number];
  mouthLeft: [number, number];
  mouthRight: [number, number];
} {
  const cy = -0.1;
  const featureShift = nu.yaw * id.faceWidth * 0.22;
  const eyeV = cy + id.eyeY;
  const mw = id.mouthWidth * (1 + 0.12 * nu.smile);
  const curve = (id.mouthCurve + nu.smile) * mw * 0.35;
  const cornerV = cy + id.mouthY - curve + curve * 0.3;
  return {
    leftEye: [-id.eyeSpacing + featureShift, eyeV],
    rightEye: [id.eyeSpacing + featureShift, eyeV],
    mouthLeft: [featureShift - mw, cornerV],
    mouthRight: [featureShift + mw, cornerV],
  };
}

/** The photo camera: FFHQ's crop from the eyes and mouth, then the nuisance's shift, roll and scale. */
function ffhqCamera({ identity: id, nuisance: nu }: FaceParams, size: number): Camera {
  // The crop: FFHQ's square from the eyes and mouth (as the real-face set is cut), then the
  // nuisance's small shift, roll and scale (a landmark detector's error).
  const a = anchors(id, nu);
  const quad = ffhqQuad(a.leftEye, a.rightEye, a.mouthLeft, a.mouthRight);
  const cosR = Math.cos(nu.rotation) / nu.scale;
  const sinR = Math.sin(nu.rotation) / nu.scale;
  return {
    px: ((2 / size) * Math.hypot(quad.x[0], quad.x[1])) / nu.scale,
    toFace: (du, dv, uv) => {
      const fu = cosR * du + sinR * dv;
      const fv = -sinR * du + cosR * dv;
      uv[0] = quad.c[0] + fu * quad.x[0] + fv * quad.y[0];
      uv[1] = quad.c[1] + fu * quad.x[1] + fv * quad.y[1];
    },
  };
}

/** Hair strands from the parting, with noise. */
const strandHair =
  (id: FaceIdentity, px: number, partU: number, hairTop: number): Implicit =>
  (u, v) => {
    const ang = Math.atan2(v - (hairTop - 0.1), u - partU);
    // Strands: fine streaks along the direction from the parting, broken up by noise; faded where
    // they are finer than two pixels (they would alias into noise).
    const r = Math.max(0.02, Math.hypot(u - partU, v - (hairTop - 0.1)));
    const strandPixels = (2 * Math.PI * r) / 140 / px;
    const streak =
      Math.min(1, Math.max(0, strandPixels - 1)) *
      Math.sin(ang * 140 + 9 * fbm(u * 6, v * 6, id.textureSeed + 7, 2, 1 / (6 * px)));
    return (
      (0.8 + 0.1 * streak + 0.25 * (fbm(u * 14, v * 14, id.textureSeed + 11, 2, 1 / (14 * px)) - 0.5)) *
      Math.min(1.1, 0.6 + Math.hypot(u - partU, v - hairTop) * 4)
    );
  };

/** Beard and moustache: hair-coloured, strand-textured, over the face below the nose. */
function beard(id: FaceIdentity, { a, b, cy, px, faceF }: FaceFrame): Layer[] {
  if (!(id.beard > 0)) return [];
  const top = cy + id.noseY + id.noseWidth * 0.6;
  return [
    {
      box: [-a - 0.02, top - 0.05, a + 0.02, cy + b + 0.05],
      f: (u, v) => Math.max(faceF(u, v) + 0.02, (top - v) * 3),
      color: scaleRgb(id.hairColor, 0.9),
      opacity: 0.85 * id.beard,
      soft: a * 0.12,
      shade: (u, v) => 0.75 + 0.5 * fbm(u * 30, v * 30, id.textureSeed + 13, 2, 1 / (30 * px)),
    },
  ];
}

/** Glasses: a rounded frame around each eye and a bridge; dark lenses fill the frame. */
function glasses(id: FaceIdentity, { eyeV, featureShift }: FaceFrame): Layer[] {
  if (id.glasses === 'none') return [];
  const layers: Layer[] = [];
  const rw = id.eyeSize * 1.55;
  const rh = id.eyeSize * 1.05;
  const t = Math.max(0.008, id.eyeSize * 0.12);
  for (const side of [-1, 1]) {
    const eu = side * id.eyeSpacing + featureShift;
    const lens = ellipse(eu, eyeV + rh * 0.1, rw, rh);
    if (id.glasses === 'dark')
      layers.push({ box: box(eu, eyeV, rw + 0.03, rh + 0.03), f: lens, color: [0.06, 0.05, 0.05], opacity: 0.9 });
    layers.push({
      box: box(eu, eyeV, rw + t + 0.03, rh + t + 0.03),
      f: (u, v) => Math.abs(lens(u, v)) * Math.min(rw, rh) - t * 0.5,
      color: id.glassesColor,
      opacity: 0.95,
    });
  }
  layers.push({
    box: box(featureShift, eyeV, id.eyeSpacing, t * 2),
    f: (u, v) => Math.max(Math.abs(v - (eyeV - rh * 0.3)) - t * 0.4, Math.abs(u - featureShift) - (id.eyeSpacing - rw)),
    color: id.glassesColor,
    opacity: 0.95,
  });
  return layers;
}

/**
 * The head as an ellipsoid lit from (lightAngle, lightFrontal): Lambertian shading, which photos
 * have everywhere and flat cartoon fills lack (face-stats.ts: gradient histogram), with skin and
 * hair texture.
 */
function headLight({ identity: id, nuisance: nu }: FaceParams, px: number): Implicit {
  const sinE = Math.sqrt(1 - nu.lightFrontal * nu.lightFrontal);
  const lx = Math.cos(nu.lightAngle) * sinE;
  const ly = Math.sin(nu.lightAngle) * sinE;
  const lz = nu.lightFrontal;
  const headA = id.faceWidth + id.hairVolume;
  const headB = id.faceHeight + id.hairVolume;
  const headU = nu.yaw * id.faceWidth * 0.1;
  const tex = id.skinTexture;
  return (u, v) => {
    const hu = (u - headU) / headA;
    const hv = (v + 0.1) / headB;
    const r2 = hu * hu + hv * hv;
    if (!(r2 < 1.6)) return 1;
    // Inside (and a little around) the head: ellipsoid normal, Lambert, and skin/hair texture.
    const nz = Math.sqrt(Math.max(0, 1 - Math.min(1, r2)));
    const lambert = Math.max(0, hu * lx + hv * ly + nz * lz);
    const inside = Math.min(1, Math.max(0, (1.6 - r2) / 0.6));
    return 1 + inside * (0.9 * lambert - 0.5 + tex * 5 * (fbm(u * 20, v * 20, id.textureSeed, 2, 1 / (20 * px)) - 0.5));
  };
}

/** A separable Gaussian blur of CHW planes (edges clamped): the lens and the downsampling of a real photo. */
function gaussianBlurPlanes(planes: Float32Array, size: number, sigma: number): Float32Array {
  if (sigma < 0.05) return planes;
  const r = Math.ceil(sigma * 2.5);
  const w = new Float64Array(2 * r + 1);
  for (let i = 0; i <= 2 * r; i++) w[i] = Math.exp(-0.5 * ((i - r) / sigma) ** 2);
  const total = w.reduce((a, b) => a + b, 0);
  for (let i = 0; i <= 2 * r; i++) w[i] /= total;
  // Each row / column padded by clamping, so the inner loop has no bounds checks.
  const line = new Float64Array(size + 2 * r);
  const tmp = new Float32Array(planes.length);
  const out = new Float32Array(planes.length);
  const pass = (src: Float32Array, dst: Float32Array, base: number, step: number) => {
    for (let i = 0; i < size + 2 * r; i++) line[i] = src[base + Math.min(size - 1, Math.max(0, i - r)) * step];
    for (let i = 0; i < size; i++) {
      let acc = 0;
      for (let j = 0; j <= 2 * r; j++) acc += w[j] * line[i + j];
      dst[base + i * step] = acc;
    }
  };
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) pass(planes, tmp, c * size * size + y * size, 1);
    for (let x = 0; x < size; x++) pass(tmp, out, c * size * size + x, size);
  }
  return out;
}

/** Each style's rules; everything else is shared. */
const RENDER_STYLES: { readonly [S in FaceStyle]: RenderStyle<FaceParamsOf[S]> } = {
  cartoon: {
    camera: frameCamera,
    hairShade: sheenHair,
    eyeWhite: [0.93, 0.91, 0.88],
    irisRadius: (_w, h) => h * 0.95,
    highlightOpacity: 0.85,
    edgeBand: false,
    optics: () => ({ cast: [1, 1, 1], blur: 0 }),
  },
  photo: {
    camera: ffhqCamera,
    hairShade: strandHair,
    eyeWhite: scaleRgb([0.85, 0.8, 0.76], 0.85),
    irisRadius: (w, h) => Math.min(h * 0.95, w * 0.45),
    highlightOpacity: 0.5,
    underMouth: beard,
    onTop: glasses,
    edgeBand: true,
    clutter: (nu, px) => ({
      blotch: (u, v) => nu.clutter * (fbm(u * 2.5, v * 2.5, nu.clutterSeed, 2, 1 / (2.5 * px)) - 0.5),
      tint: (u, v) => nu.clutter * (fbm(u * 1.5, v * 1.5, nu.clutterSeed + 1, 2) - 0.5),
    }),
    headLight,
    // The lens blur is nu.blur pixels at 64 px and scales up with the size, but not down: a photo
    // reduced below 64 px (as the 32 px evaluation faces are) keeps its resampling's softness; at
    // 32 px, nu.blur / 2 left the faces' finest-scale energy 1.4x the real faces' (0.028 vs 0.020,
    // finestDiagonal), nu.blur gives 0.017.
    optics: (nu, size) => ({ cast: nu.cast, blur: nu.blur * Math.max(1, size / 64) }),
  },
};

/**
 * Renders a face as float32 CHW planes [3, size, size] in [0, 1] (sRGB), in its style ('photo'
 * when none is given). Deterministic: the same parameters give the same bytes.
 */
export function renderFace(params: FaceParams, size: number): Float32Array;
export function renderFace<S extends FaceStyle>(params: FaceParamsOf[S], size: number, style: S): Float32Array;
export function renderFace<S extends FaceStyle>(params: FaceParamsOf[S], size: number, style?: S): Float32Array {
  if (!Number.isInteger(size) || size < 8 || size > 1024) {
    throw new RangeError(`renderFace: size must be an integer in [8, 1024], got ${size}.`);
  }
  // Without a style the parameters are a photo's (the first overload).
  return render(params, size, RENDER_STYLES[(style ?? 'photo') as S]);
}

function render<P extends CartoonFaceParams>(params: P, size: number, style: RenderStyle<P>): Float32Array {
  const { identity: id, nuisance: nu } = params;
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const { px, toFace } = style.camera(params, size); // px: one pixel in face units
  const eps = px * 0.25;
  const layers = faceLayers(id, nu, px, style);
  const n = layers.length;
  // Per layer, a bound on |grad f| from an 8x8 sample of its box (x3 for safety): pixels whose
  // |f| exceeds bound x edge width are fully in or out, so the two extra evaluations for the
  // gradient are skipped there (most pixels, now that the face fills the frame).
  const band = layers.map((L) => {
    if (!style.edgeBand) return Infinity;
    let g = 0;
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 8; j++) {
        const su = L.box[0] + ((L.box[2] - L.box[0]) * (i + 0.5)) / 8;
        const sv = L.box[1] + ((L.box[3] - L.box[1]) * (j + 0.5)) / 8;
        const f0 = L.f(su, sv);
        g = Math.max(g, Math.hypot((L.f(su + eps, sv) - f0) / eps, (L.f(su, sv + eps) - f0) / eps));
      }
    }
    return 3 * g * (px + (L.soft ?? 0));
  });
  const lightU = Math.cos(nu.lightAngle) * nu.lightStrength;
  const lightV = Math.sin(nu.lightAngle) * nu.lightStrength;
  const bgU = Math.cos(nu.backgroundAngle);
  const bgV = Math.sin(nu.backgroundAngle);
  const clutter = style.clutter?.(nu, px);
  const head = style.headLight?.(params, px);
  const { cast, blur } = style.optics(nu, size);
  const uv = new Float64Array(2);
  for (let y = 0; y < size; y++) {
    const py = ((y + 0.5) / size) * 2 - 1;
    for (let x = 0; x < size; x++) {
      const pxImg = ((x + 0.5) / size) * 2 - 1;
      toFace(pxImg - nu.shiftU, py - nu.shiftV, uv);
      const u = uv[0];
      const v = uv[1];
      const t = Math.min(1, Math.max(0, 0.5 + 0.35 * (pxImg * bgU + py * bgV)));
      let r = nu.background0[0] + (nu.background1[0] - nu.background0[0]) * t;
      let g = nu.background0[1] + (nu.background1[1] - nu.background0[1]) * t;
      let bl = nu.background0[2] + (nu.background1[2] - nu.background0[2]) * t;
      if (clutter) {
        const blotch = clutter.blotch(u, v);
        const tint = clutter.tint(u, v);
        // One addition at a time, in this order: the pixels are pinned to the bit.
        r += blotch;
        r += tint;
        g += blotch;
        bl += blotch;
        bl -= tint;
      }
      for (let i = 0; i < n; i++) {
        const L = layers[i];
        const bx = L.box;
        if (u < bx[0] - px || u > bx[2] + px || v < bx[1] - px || v > bx[3] + px) continue;
        const f0 = L.f(u, v);
        let cover: number;
        if (f0 >= band[i]) {
          continue;
        } else if (f0 <= -band[i]) {
          cover = 1;
        } else {
          const gu = (L.f(u + eps, v) - f0) / eps;
          const gv = (L.f(u, v + eps) - f0) / eps;
          const grad = Math.hypot(gu, gv);
          const dist = grad > 1e-9 ? f0 / grad : f0 < 0 ? -Infinity : Infinity;
          cover = Math.min(1, Math.max(0, 0.5 - dist / (px + (L.soft ?? 0))));
        }
        if (cover <= 0) continue;
        const alpha = cover * L.opacity;
        const s = L.shade ? L.shade(u, v) : 1;
        r += (L.color[0] * s - r) * alpha;
        g += (L.color[1] * s - g) * alpha;
        bl += (L.color[2] * s - bl) * alpha;
      }
      let light = nu.ambient + lightU * pxImg + lightV * py;
      if (head) light *= head(u, v);
      const o = y * size + x;
      out[o] = r * light * cast[0];
      out[plane + o] = g * light * cast[1];
      out[2 * plane + o] = bl * light * cast[2];
    }
  }
  // Optics, then the [0, 1] range. No sensor noise: these are the clean targets (the degradation
  // adds noise to the inputs), and noise in a target teaches a restorer to paint noise.
  const blurred = gaussianBlurPlanes(out, size, blur);
  for (let i = 0; i < blurred.length; i++) blurred[i] = Math.min(1, Math.max(0, blurred[i]));
  return blurred;
}
