// The parameters of a procedural face: who it is (identity: shape, skin, eyes, brows, nose,
// mouth, hair) and how this picture of it was taken (nuisance: pose, lighting, expression,
// background), each drawn from a PRNG key.
import type { KeyWords } from '../kernels/params.js';
import type { PRNGKey } from '../index.js';
import { Draws } from './draws.js';

export type Rgb = readonly [number, number, number];

/** Hair styles, from none to shoulder length. */
export type HairStyle = 'bald' | 'short' | 'medium' | 'long';

/**
 * Identity parameters, in face coordinates: the image spans [-1, 1] in u (right) and v (down)
 * before the pose transform; lengths are in those units.
 */
export interface FaceIdentity {
  /** Face ellipse half-width and half-height, and how much it narrows towards the chin (0..1). */
  readonly faceWidth: number;
  readonly faceHeight: number;
  readonly jawTaper: number;
  readonly skin: Rgb;
  /** Half the distance between the eye centres; eye height relative to the face centre. */
  readonly eyeSpacing: number;
  readonly eyeY: number;
  /** Eye half-width and height/width ratio. */
  readonly eyeSize: number;
  readonly eyeOpen: number;
  readonly irisColor: Rgb;
  readonly browThickness: number;
  /** Gap between eye and brow, and brow arch (0 flat .. 1 arched), brow tilt (outer end up > 0). */
  readonly browGap: number;
  readonly browArch: number;
  readonly browTilt: number;
  readonly browColor: Rgb;
  /** Nose tip height (relative to the face centre) and half-width. */
  readonly noseY: number;
  readonly noseWidth: number;
  /** Mouth height, half-width, lip thicknesses, resting curvature (smile > 0), lip colour. */
  readonly mouthY: number;
  readonly mouthWidth: number;
  readonly upperLip: number;
  readonly lowerLip: number;
  readonly mouthCurve: number;
  readonly lipColor: Rgb;
  readonly hairStyle: HairStyle;
  readonly hairColor: Rgb;
  /** Hair thickness around the skull, hairline height (0 low .. 1 high), side parting (-1..1). */
  readonly hairVolume: number;
  readonly hairline: number;
  readonly hairPart: number;
  readonly earSize: number;
  /** Beard density (0 none .. 1 full), glasses (none, clear or dark lenses) and their frame colour. */
  readonly beard: number;
  readonly glasses: 'none' | 'clear' | 'dark';
  readonly glassesColor: Rgb;
  /** Skin texture (mottling, pores) strength, and the seed of this face's texture noise. */
  readonly skinTexture: number;
  readonly textureSeed: number;
}

/** Nuisance parameters: what changes between pictures of one identity. */
export interface FaceNuisance {
  /** Translation (face units), in-plane rotation (radians), scale, and yaw (-1..1, shifts features sideways). */
  readonly shiftU: number;
  readonly shiftV: number;
  readonly rotation: number;
  readonly scale: number;
  readonly yaw: number;
  /** Light: ambient level, directional strength and direction (radians; 0 = from the right). */
  readonly ambient: number;
  readonly lightStrength: number;
  readonly lightAngle: number;
  /** Expression: added mouth curvature, mouth opening, brow raise; gaze offset. */
  readonly smile: number;
  readonly mouthOpen: number;
  readonly browRaise: number;
  readonly gazeU: number;
  readonly gazeV: number;
  /** Background: two colours blended along a direction; clothing colour. */
  readonly background0: Rgb;
  readonly background1: Rgb;
  readonly backgroundAngle: number;
  readonly clothing: Rgb;
  /** Light elevation towards the camera (0 side-on .. 1 frontal) shading the head as a rounded surface. */
  readonly lightFrontal: number;
  /** Background clutter (blotches of colour) strength and its seed. */
  readonly clutter: number;
  readonly clutterSeed: number;
  /** White-balance cast (multipliers per channel) and lens blur (pixels at 64 px). */
  readonly cast: Rgb;
  readonly blur: number;
}

export interface FaceParams {
  readonly identity: FaceIdentity;
  readonly nuisance: FaceNuisance;
}

const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;
const mixRgb = (a: Rgb, b: Rgb, t: number): Rgb => [lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)];
const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const jitter = (d: Draws, c: Rgb, amount: number): Rgb => [
  clamp01(c[0] + d.range(-amount, amount)),
  clamp01(c[1] + d.range(-amount, amount)),
  clamp01(c[2] + d.range(-amount, amount)),
];

/** Skin tones from light to dark (sRGB), interpolated piecewise linearly. */
const SKIN: readonly Rgb[] = [
  [0.98, 0.85, 0.76],
  [0.93, 0.74, 0.61],
  [0.8, 0.58, 0.43],
  [0.6, 0.4, 0.27],
  [0.38, 0.24, 0.16],
];
const HAIR: readonly Rgb[] = [
  [0.07, 0.06, 0.06],
  [0.2, 0.13, 0.08],
  [0.36, 0.23, 0.13],
  [0.52, 0.24, 0.11],
  [0.82, 0.67, 0.42],
  [0.62, 0.61, 0.6],
];
const HAIR_WEIGHTS = [3, 3, 2, 1, 1.5, 0.7];
const IRIS: readonly Rgb[] = [
  [0.22, 0.13, 0.07],
  [0.38, 0.23, 0.1],
  [0.47, 0.4, 0.2],
  [0.28, 0.45, 0.3],
  [0.3, 0.5, 0.72],
  [0.48, 0.54, 0.6],
];
const STYLES: readonly HairStyle[] = ['bald', 'short', 'medium', 'long'];
const STYLE_WEIGHTS = [0.5, 4, 3, 3];

function skinTone(t: number): Rgb {
  const x = clamp01(t) * (SKIN.length - 1);
  const i = Math.min(SKIN.length - 2, Math.floor(x));
  return mixRgb(SKIN[i], SKIN[i + 1], x - i);
}

/** Numbers reserved per identity / nuisance draw (more than used, so fields can be added). */
const IDENTITY_DRAWS = 64;
const NUISANCE_DRAWS = 48;

/** Draws an identity from its key (the same key always gives the same face). */
export function sampleIdentity(k: PRNGKey | KeyWords): FaceIdentity {
  const d = new Draws(k, IDENTITY_DRAWS, 'sampleIdentity');
  const faceWidth = d.range(0.4, 0.5);
  const faceHeight = faceWidth * d.range(1.18, 1.42);
  const skin = jitter(d, skinTone(d.u()), 0.025);
  const hairIndex = d.weighted(HAIR_WEIGHTS);
  const hairColor = jitter(d, HAIR[hairIndex], 0.04);
  const eyeSpacing = faceWidth * d.range(0.38, 0.46);
  // Real proportions (face-stats.ts on the evaluation faces): eye width ~0.4 of the eye distance,
  // eyes to mouth ~1.0 eye distance, nose tip ~0.6 of the way down.
  const eyeSize = 2 * eyeSpacing * d.range(0.18, 0.22);
  const eyeY = faceHeight * d.range(-0.14, -0.02);
  const mouthY = eyeY + 2 * eyeSpacing * d.range(0.9, 1.12);
  const ident = {
    faceWidth,
    faceHeight,
    jawTaper: d.range(0.05, 0.45),
    skin,
    eyeSpacing,
    eyeY,
    eyeSize,
    eyeOpen: d.range(0.3, 0.46),
    irisColor: jitter(d, d.pick(IRIS), 0.04),
    browThickness: eyeSize * d.range(0.22, 0.4),
    browGap: eyeSize * d.range(0.45, 0.8),
    browArch: d.range(0, 1),
    browTilt: d.range(-0.25, 0.35),
    browColor: mixRgb(hairIndex === 5 ? HAIR[1] : hairColor, [0.05, 0.04, 0.04], 0.35),
    noseY: eyeY + (mouthY - eyeY) * d.range(0.55, 0.68),
    noseWidth: faceWidth * d.range(0.15, 0.22),
    mouthY,
    mouthWidth: faceWidth * d.range(0.3, 0.42),
    upperLip: faceHeight * d.range(0.02, 0.04),
    lowerLip: faceHeight * d.range(0.03, 0.055),
    mouthCurve: d.range(-0.15, 0.35),
    lipColor: mixRgb(skin, [0.62, 0.28, 0.28], d.range(0.2, 0.45)),
    hairStyle: STYLES[d.weighted(STYLE_WEIGHTS)],
    hairColor,
    hairVolume: d.range(0.04, 0.13),
    hairline: d.range(0, 1),
    hairPart: d.range(-1, 1),
    earSize: faceHeight * d.range(0.16, 0.22),
  };
  const beard = d.chance(0.2) ? d.range(0.3, 1) : 0;
  const glassesDraw = d.u();
  const glassesColor: Rgb = d.chance(0.5) ? [0.05, 0.04, 0.04] : jitter(d, [0.55, 0.5, 0.45], 0.15);
  return {
    ...ident,
    beard,
    glasses: glassesDraw < 0.1 ? 'clear' : glassesDraw < 0.14 ? 'dark' : 'none',
    glassesColor,
    skinTexture: d.range(0.03, 0.1),
    textureSeed: Math.floor(d.u() * 2 ** 30),
  };
}

/** Draws the nuisance of one picture from its key. */
export function sampleNuisance(k: PRNGKey | KeyWords): FaceNuisance {
  const d = new Draws(k, NUISANCE_DRAWS, 'sampleNuisance');
  // Real backgrounds are mostly darker and warmer than a random colour (face-stats.ts: B mean).
  const bgLevel = d.range(0.1, 0.85);
  const bgBase: Rgb = [bgLevel * d.range(0.85, 1.2), bgLevel * d.range(0.8, 1.1), bgLevel * d.range(0.6, 1.05)];
  const grey = (bgBase[0] + bgBase[1] + bgBase[2]) / 3;
  const background0 = mixRgb(bgBase, [grey, grey, grey], d.range(0.1, 0.6));
  const warm = d.range(-0.03, 0.1);
  return {
    // Small: the crops are aligned on eyes and mouth like the evaluation set, so only the
    // landmark detector's error remains.
    shiftU: d.range(-0.03, 0.03),
    shiftV: d.range(-0.03, 0.03),
    rotation: d.range(-0.05, 0.05),
    scale: d.range(0.95, 1.05),
    yaw: d.range(-0.5, 0.5),
    ambient: d.range(0.85, 1.05),
    lightStrength: d.range(0, 0.2),
    lightAngle: d.range(-Math.PI, Math.PI),
    smile: d.range(-0.1, 0.6),
    mouthOpen: d.chance(0.3) ? d.range(0.2, 1) : 0,
    browRaise: d.range(-0.3, 0.5),
    gazeU: d.range(-0.25, 0.25),
    gazeV: d.range(-0.15, 0.15),
    background0,
    background1: mixRgb(background0, [d.u(), d.u() * 0.9, d.u() * 0.8], d.range(0.1, 0.5)),
    backgroundAngle: d.range(-Math.PI, Math.PI),
    clothing: [d.range(0.05, 0.85), d.range(0.05, 0.85), d.range(0.05, 0.85)],
    lightFrontal: d.range(0.35, 0.95),
    clutter: d.range(0, 0.3),
    clutterSeed: Math.floor(d.u() * 2 ** 30),
    cast: [1 + warm + d.range(-0.03, 0.03), 1 + d.range(-0.03, 0.03), 1 - warm + d.range(-0.03, 0.03)],
    blur: d.range(0.3, 0.8),
  };
}

/** The nuisance of a frontal, evenly lit, neutral picture on a grey background. */
export const neutralNuisance: FaceNuisance = Object.freeze({
  shiftU: 0,
  shiftV: 0,
  rotation: 0,
  scale: 1,
  yaw: 0,
  ambient: 1,
  lightStrength: 0,
  lightAngle: 0,
  smile: 0,
  mouthOpen: 0,
  browRaise: 0,
  gazeU: 0,
  gazeV: 0,
  background0: [0.6, 0.6, 0.6] as Rgb,
  background1: [0.5, 0.5, 0.5] as Rgb,
  backgroundAngle: Math.PI / 2,
  clothing: [0.3, 0.35, 0.45] as Rgb,
  lightFrontal: 1,
  clutter: 0,
  clutterSeed: 0,
  cast: [1, 1, 1] as Rgb,
  blur: 0.7,
});
